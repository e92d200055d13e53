"""Keeping freed memory for reuse during fits (glibc's mallopt)."""

from __future__ import annotations

import ctypes
import ctypes.util

import pytest
import torch

from qcodec.memory import GLIBC_DEFAULT, M_MMAP_THRESHOLD, reuse_freed_memory


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _glibc() -> ctypes.CDLL:
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallinfo2"):
        pytest.skip("needs glibc 2.33 or later")
    libc.mallinfo2.restype = _Mallinfo2
    return libc


def test_large_tensors_come_from_the_heap_inside_the_block_and_from_mmap_after():
    libc = _glibc()

    def mapped_blocks_for_a_16_mib_tensor() -> int:
        before = libc.mallinfo2().hblks
        tensor = torch.empty(4 << 20)  # 16 MiB of float32
        during = libc.mallinfo2().hblks
        del tensor
        return during - before

    # Earlier frees in this process may have raised glibc's dynamic mmap threshold above
    # 16 MiB; pin it to the default first so that the starting point is known.
    libc.mallopt(M_MMAP_THRESHOLD, GLIBC_DEFAULT)
    assert mapped_blocks_for_a_16_mib_tensor() == 1  # large blocks are mmapped
    with reuse_freed_memory() as applied:
        assert applied
        assert mapped_blocks_for_a_16_mib_tensor() == 0
    libc.malloc_trim(0)  # give back the heap the block kept, then the default threshold applies again
    assert mapped_blocks_for_a_16_mib_tensor() == 1
