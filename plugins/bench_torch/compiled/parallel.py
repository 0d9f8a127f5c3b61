"""Whether the compiled loops may run the parts of a batch on threads of their own, and the
start of numba's threading layer.

The layer is numba's OpenMP or TBB one, never its fallback ``workqueue``, which aborts the
process when two threads launch parallel work at once. Without either, every loop runs on
the calling thread.

Starting the OpenMP layer sets the OpenMP thread count, which torch's ``get_num_threads``
reads: measured, a process that bench's policy gave one thread had two after its first
compiled run, and two such processes side by side then ran 40x slower (every step on two
threads per process on a 2-core machine). So the layer is started here, once, with torch's
count put back.
"""

from __future__ import annotations

import numba
import numpy as np
import torch

numba.config.THREADING_LAYER = "threadsafe"


def _threadsafe_layer() -> bool:
    for module in ("omppool", "tbbpool"):
        try:
            __import__(f"numba.np.ufunc.{module}")
            return True
        except ImportError:
            continue
    return False


@numba.njit(parallel=True, cache=True)
def _start(out: np.ndarray) -> None:
    for i in numba.prange(out.shape[0]):
        out[i] = i


def _start_layer() -> None:
    threads = torch.get_num_threads()
    try:
        _start(np.empty(1))
    finally:
        torch.set_num_threads(threads)


PARALLEL = _threadsafe_layer()
if PARALLEL:
    _start_layer()
