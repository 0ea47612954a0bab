"""Freed memory goes back to the system: glibc's malloc settings of a trustshift process.

glibc gives a block above its mmap threshold (128 KB at start) a mapping of its own, which
is returned to the system when the block is freed; but each such block freed raises the
threshold to its size (up to 32 MB on 64-bit systems), after which blocks of that size come
from the heap and stay with the process when freed. The stages free columns of megabytes
each (8 MB per item of a wave of 1,000,000 interviews): at 100,000 per wave, dropping 43
columns of the analysis frame left resident memory at 0.83 GB, and 0.61 GB with the
threshold fixed at 1 MB. In `trustshift run` the stages share one process, so what one
stage freed would otherwise stay resident under the next one.

The setting is made by the entry points (the `trustshift` command and the Prefect flows),
never by a library call: it holds for the whole process, and a notebook calling
``estimate_study`` keeps its own allocator settings.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from typing import Any

# Blocks from 1 MB up get their own mapping: a column of 131,072 floats or more.
MMAP_THRESHOLD_BYTES = 1 << 20
# glibc's mallopt parameter number of M_MMAP_THRESHOLD (malloc.h).
_M_MMAP_THRESHOLD = -3


def _glibc() -> Any | None:
    """The C library when it is glibc (it has ``mallopt`` and ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    return libc


def return_freed_memory() -> bool:
    """Fix glibc's mmap threshold of this process at ``MMAP_THRESHOLD_BYTES``, so freed
    blocks of a megabyte or more go back to the system. True when set (False where the C
    library is not glibc: others return large blocks on their own)."""
    libc = _glibc()
    return libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1


def trim_freed_memory() -> None:
    """Return what the stage that just ended freed and the allocators kept for reuse: its
    objects left in reference cycles (collected now, not at the collector's next full pass:
    after validating three waves of 1,000,000 they held 0.53 GB), the free pages inside
    glibc's heaps (``malloc_trim(0)``: blocks under the threshold), and the free blocks of
    Arrow's memory pool, where the text columns read from the warehouse live (mimalloc keeps
    them: 63 MB after validating three waves of 100,000)."""
    import pyarrow

    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
    pyarrow.default_memory_pool().release_unused()
