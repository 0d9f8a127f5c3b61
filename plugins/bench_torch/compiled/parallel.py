"""Running a compiled loop on every part of a batch at once, on torch's own OpenMP threads.

The loops are compiled with ``nogil`` (:data:`.activations.FAST`); one OpenMP parallel
region of torch's runtime (``GOMP_parallel``, which libgomp and LLVM's libomp both export)
calls each part from a thread of its own. Two other ways were measured and not kept:

- numba's ``parallel=True``: the code numba caches for a parallel function is not the code
  it runs when it compiles one (numba 0.68: lnrnn's outputs and the lstm, gru and lnrnn
  gradients differed in the last bits between a process that compiled the loops and one
  that loaded them), so a training run's result depended on whether the cache was warm.
  Plain ``nogil`` functions load exactly the code they compile.
- threads of our own: torch's idle OpenMP threads keep spinning for a while after each of
  torch's operations, on the CPUs our threads need (the compiled LSTM's step at 2 threads:
  52 ms against 39 on numba's threads, 39 with libgomp's spinning cut short). Run on those
  very threads, the parts take the CPUs the spinning holds.

Where torch has no such runtime, :data:`PARALLEL` is False and every loop runs on the
calling thread.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

_BODY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _torch_openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime torch's wheel ships and runs on, or None."""
    for pattern in ("libgomp*", "libomp*", "libiomp*"):
        for path in sorted((Path(torch.__file__).parent / "lib").glob(pattern)):
            try:
                runtime = ctypes.CDLL(str(path))
            except OSError:
                continue
            if hasattr(runtime, "GOMP_parallel"):
                runtime.GOMP_parallel.argtypes = [_BODY, ctypes.c_void_p, ctypes.c_uint,
                                                  ctypes.c_uint]
                runtime.GOMP_parallel.restype = None
                return runtime
    return None


_OPENMP = _torch_openmp()
PARALLEL = _OPENMP is not None
"""Whether the parts of a batch can run on threads of their own."""


def each_part(loop: Callable[..., None], parts: Sequence[tuple[object, ...]]) -> None:
    """``loop(*arguments)`` for each part's ``arguments``, each part on a thread of one
    OpenMP team (a team given fewer threads runs several parts a thread); returns when all
    are done, raising a failed part's error."""
    if len(parts) == 1 or _OPENMP is None:
        for arguments in parts:
            loop(*arguments)
        return
    runtime, errors = _OPENMP, []

    def body(_: object) -> None:
        try:
            for part in range(runtime.omp_get_thread_num(), len(parts),
                              runtime.omp_get_num_threads()):
                loop(*parts[part])
        except BaseException as error:  # a callback's errors are only printed by ctypes
            errors.append(error)

    runtime.GOMP_parallel(_BODY(body), None, len(parts), 0)
    if errors:
        raise errors[0]
