"""glibc's malloc told to keep the memory a training process frees, for its next step.

A training step frees most of what it allocates (activations, gradients, a compiled path's
buffers) and allocates the same again in the next step. By default glibc gives large blocks
back to the kernel (``mmap`` above a threshold it moves as blocks are freed, and trimming of
the heap's top), so the next step pays a page fault and the kernel's zeroing for every page
of them again, in some processes and not in others (docs/kernels.md: `nn.LSTM` at
the standard size took 17,540 faults and 65 ms a step, 0 faults and 46 ms with this). With
``mmap`` off and the trim threshold at :data:`TRIM_THRESHOLD`, freed memory stays in the
process and serves the next step. The process's resident memory then stays at its peak,
which a training process reaches again every step anyway.
"""

from __future__ import annotations

import ctypes
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
"""``mallopt`` parameters (glibc's malloc.h)."""
TRIM_THRESHOLD = 2**30
"""Free memory at the heap's top kept before any is given back: 1 GiB."""
KEPT = "glibc, freed memory kept (mmap off, trim threshold 1 GiB)"
DEFAULT = "the C library's default"


@functools.cache
def keep_freed_memory() -> str:
    """Tell glibc's malloc to keep freed memory in this process (once: the setting is the
    process's); what the allocator does now (:data:`KEPT`, or :data:`DEFAULT` where the C
    library is not glibc)."""
    try:
        libc = ctypes.CDLL(None)  # the symbols the process has loaded, the C library's among them
    except (OSError, TypeError):  # no such handle (Windows)
        return DEFAULT
    if not hasattr(libc, "gnu_get_libc_version"):
        return DEFAULT
    kept = libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return KEPT if kept else DEFAULT
