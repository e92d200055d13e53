"""Keeping freed memory for reuse during fits (glibc's mallopt)."""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess
import sys
from pathlib import Path

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


def _mapped_blocks_for_a_16_mib_tensor(libc: ctypes.CDLL) -> int:
    before = libc.mallinfo2().hblks
    tensor = torch.empty(4 << 20)  # 16 MiB of float32
    during = libc.mallinfo2().hblks
    del tensor
    return during - before


def _check_in_a_fresh_heap() -> None:
    libc = _glibc()
    # Pin the mmap threshold to glibc's default: freeing an mmapped block would otherwise
    # raise it dynamically, and the block's own setting could not be told apart from that.
    libc.mallopt(M_MMAP_THRESHOLD, GLIBC_DEFAULT)
    assert _mapped_blocks_for_a_16_mib_tensor(libc) == 1  # large blocks are mmapped
    with reuse_freed_memory() as applied:
        assert applied
        assert _mapped_blocks_for_a_16_mib_tensor(libc) == 0
    libc.malloc_trim(0)  # give back the heap the block kept, then the default threshold applies again
    assert _mapped_blocks_for_a_16_mib_tensor(libc) == 1


def test_large_tensors_come_from_the_heap_inside_the_block_and_from_mmap_after():
    _glibc()  # skips where the C library is not glibc
    # In a process that has already run other tests, free chunks of 16 MiB or more may sit
    # in the heap (malloc_trim returns their pages but keeps the chunks), and glibc serves
    # a request from them before it considers mmap; a fresh interpreter has a known heap.
    script = "import tests.test_memory as t; t._check_in_a_fresh_heap()"
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent.parent,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
