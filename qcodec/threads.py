"""The one place that changes torch's CPU thread count for a block of code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` intra-op CPU threads (``None``: unchanged), restored after.

    Yields the number of threads in use.

    >>> with torch_threads(1) as n:
    ...     n
    1
    """
    previous = torch.get_num_threads()
    if threads is not None and threads != previous:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
