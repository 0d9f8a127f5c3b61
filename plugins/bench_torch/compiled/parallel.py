"""Whether the compiled loops may run the parts of a batch on threads of their own.

numba's OpenMP or TBB layer, never its fallback ``workqueue``, which aborts the process when
two threads launch parallel work at once (bench's thread executor runs runs side by side).
Without either, every loop runs on the calling thread.
"""

from __future__ import annotations

import numba

numba.config.THREADING_LAYER = "threadsafe"


def _threadsafe_layer() -> bool:
    for module in ("omppool", "tbbpool"):
        try:
            __import__(f"numba.np.ufunc.{module}")
            return True
        except ImportError:
            continue
    return False


PARALLEL = _threadsafe_layer()
