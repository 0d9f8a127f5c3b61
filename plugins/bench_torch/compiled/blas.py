"""The matrix product for compiled loops: one Fortran ``sgemm`` call, no Python.

The symbol comes from the library torch's own products run on (MKL is linked into the x86
wheels' ``libtorch_cpu`` and exports ``sgemm_``), so a compiled step's products are as fast
as ``torch.mm``'s and share torch's thread setting; where torch's library exports no
``sgemm_`` (other builds) it is SciPy's BLAS. Registered with LLVM under one name, so
numba's on-disk cache of the loops stays valid whichever library it is.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import llvmlite.binding as llvm
import numba
import numpy as np
import torch
from numba import types

SYMBOL = "bench_sgemm"


def _torch_sgemm() -> int | None:
    """The address of ``sgemm_`` in torch's CPU library, or None."""
    for path in sorted((Path(torch.__file__).parent / "lib").glob("libtorch_cpu.*")):
        try:
            return ctypes.cast(ctypes.CDLL(str(path)).sgemm_, ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
    return None


def _scipy_sgemm() -> int:
    from numba.extending import get_cython_function_address
    return get_cython_function_address("scipy.linalg.cython_blas", "sgemm")


def _register() -> str:
    """Register the BLAS ``sgemm`` as :data:`SYMBOL`; the name of the library it came from."""
    address = _torch_sgemm()
    source = "torch"
    if address is None:
        address, source = _scipy_sgemm(), "scipy"
    llvm.add_symbol(SYMBOL, address)
    return source


BLAS_SOURCE = _register()
"""``torch`` or ``scipy``: whose BLAS the compiled products call."""

_sgemm = types.ExternalFunction(SYMBOL, types.void(*([types.voidptr] * 13)))
_NO_TRANSPOSE = np.array([ord("N")], np.uint8)
_TRANSPOSE = np.array([ord("T")], np.uint8)


SCRATCH = 8
"""Size of :func:`gemm`'s ``scratch``."""


@numba.njit(cache=True)
def _leading(matrix: np.ndarray) -> int:
    """The leading dimension BLAS is told for row-major ``matrix``: its row stride, which
    BLAS requires to be at least a row's length. A matrix of one row may have any stride
    (torch calls [1, n] contiguous whatever it is: the transpose of a [n, 1] weight has 1),
    and BLAS refuses the whole call for a smaller one (MKL only prints why)."""
    return max(matrix.strides[0] // 4, matrix.shape[1], 1)


@numba.njit(cache=True)
def _product(a: np.ndarray, a_flag: np.ndarray, depth: int, b: np.ndarray, out: np.ndarray,
             accumulate: bool, scratch: np.ndarray) -> None:
    """``out (+)= op(a) @ b`` in one call: column-major BLAS sees the row-major product
    transposed, ``out^T = b^T op(a)^T``, with ``a_flag`` saying whether ``a`` is transposed."""
    if out.shape[0] == 0 or out.shape[1] == 0:
        return
    dims = scratch[:6].view(np.int32)
    coefficients = scratch[6:]
    dims[0], dims[1], dims[2] = out.shape[1], out.shape[0], depth
    dims[3], dims[4], dims[5] = (_leading(b), _leading(a), _leading(out))
    coefficients[0], coefficients[1] = 1.0, 1.0 if accumulate else 0.0
    d = dims.ctypes.data
    c = coefficients.ctypes.data
    _sgemm(_NO_TRANSPOSE.ctypes.data, a_flag.ctypes.data, d, d + 4, d + 8, c, b.ctypes.data,
           d + 12, a.ctypes.data, d + 16, c + 4, out.ctypes.data, d + 20)


@numba.njit(cache=True)
def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool,
         scratch: np.ndarray) -> None:
    """``out = a @ b`` (``out += a @ b`` when ``accumulate``) for float32 matrices whose rows
    are contiguous (at any row stride). ``scratch``: a
    float32 array of :data:`SCRATCH`, room for the call's by-reference arguments (the
    Fortran interface takes every argument by address), allocated once per loop."""
    _product(a, _NO_TRANSPOSE, a.shape[1], b, out, accumulate, scratch)


@numba.njit(cache=True)
def gemm_transposed(a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool,
                    scratch: np.ndarray) -> None:
    """:func:`gemm` of ``a^T @ b``: ``a`` [depth, m], ``b`` [depth, n], ``out`` [m, n] (a
    weight's gradient from a sequence's rows, without a transposed copy of ``a``)."""
    _product(a, _TRANSPOSE, a.shape[0], b, out, accumulate, scratch)
