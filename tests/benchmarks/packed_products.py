"""Whether MKL's packed products would speed up the compiled recurrences (docs/kernels.md).

A compiled step multiplies a batch part's rows by the same recurrent weight at every step.
MKL can pack that weight once (``cblas_sgemm_pack``) and reuse the packed copy in every
product (``cblas_sgemm_compute``), which saves the repacking an ordinary ``sgemm`` does per
call. This times both on one thread, hot in cache, alternately, at the products a step makes
(a 64-row part at 128 units: the LSTM's [64, 128]x[128, 512] forward and [64, 512]x[512, 128]
backward, rnn's [64, 128]x[128, 128], the GRU's 384-wide), and prints packed ÷ plain time.

    python -m tests.benchmarks.packed_products [--rounds 5] [--calls 3000]

It needs torch's x86 wheel, whose ``libtorch_cpu`` exports MKL's packed interface.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROW_MAJOR, NO_TRANSPOSE, B_MATRIX, PACKED = 101, 111, 162, 151
"""MKL's CBLAS constants (``mkl_cblas.h``)."""

SHAPES = [(64, 128, 512), (64, 512, 128), (64, 128, 128), (64, 128, 384), (64, 384, 128)]
"""(rows, depth, width) of the products of one 64-row part's step."""


def _mkl() -> ctypes.CDLL:
    library = ctypes.CDLL(str(next((Path(torch.__file__).parent / "lib").glob(
        "libtorch_cpu.*"))))
    library.cblas_sgemm_pack_get_size.restype = ctypes.c_size_t
    library.cblas_sgemm_pack_get_size.argtypes = [ctypes.c_int] * 4
    library.cblas_sgemm_pack.argtypes = [ctypes.c_int] * 6 + [
        ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    library.cblas_sgemm_compute.argtypes = [ctypes.c_int] * 6 + [
        ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_float,
        ctypes.c_void_p, ctypes.c_int]
    library.sgemm_.argtypes = [ctypes.c_void_p] * 13
    return library


def _products(mkl: ctypes.CDLL, rows: int, depth: int, width: int
              ) -> tuple[Callable[[], None], Callable[[], None], np.ndarray, np.ndarray]:
    """``out += a @ b`` by plain ``sgemm`` and by the packed ``b``, and their two outputs."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, depth), dtype=np.float32)
    b = rng.standard_normal((depth, width), dtype=np.float32)
    plain_out, packed_out = (np.zeros((rows, width), np.float32) for _ in range(2))
    packed_b = np.zeros(mkl.cblas_sgemm_pack_get_size(B_MATRIX, rows, width, depth) // 4 + 16,
                        np.float32)
    mkl.cblas_sgemm_pack(ROW_MAJOR, B_MATRIX, NO_TRANSPOSE, rows, width, depth, 1.0,
                         b.ctypes.data, width, packed_b.ctypes.data)
    # Fortran sgemm is column-major: out^T = b^T a^T, every argument by reference.
    by_reference = [ctypes.byref(ctypes.c_int(n)) for n in (width, rows, depth)]
    one = ctypes.byref(ctypes.c_float(1.0))
    n, m, k = by_reference

    def plain() -> None:
        mkl.sgemm_(b"N", b"N", n, m, k, one, b.ctypes.data, n, a.ctypes.data, k, one,
                   plain_out.ctypes.data, n)

    def packed() -> None:
        mkl.cblas_sgemm_compute(ROW_MAJOR, NO_TRANSPOSE, PACKED, rows, width, depth,
                                a.ctypes.data, depth, packed_b.ctypes.data, width, 1.0,
                                packed_out.ctypes.data, width)

    return plain, packed, plain_out, packed_out


def _seconds_per_call(product: Callable[[], None], calls: int) -> float:
    for _ in range(calls // 10):
        product()
    start = time.perf_counter()
    for _ in range(calls):
        product()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    mkl = _mkl()
    print("| rows x depth x width | plain µs | packed µs | plain GFLOP/s | packed ÷ plain |")
    print("|---|---|---|---|---|")
    ratios = []
    for rows, depth, width in SHAPES:
        plain, packed, plain_out, packed_out = _products(mkl, rows, depth, width)
        plain()
        packed()
        np.testing.assert_allclose(packed_out, plain_out, rtol=1e-4, atol=1e-3)
        times: dict[str, list[float]] = {"plain": [], "packed": []}
        for _ in range(args.rounds):  # alternated, so that both see the same machine
            times["plain"].append(_seconds_per_call(plain, args.calls))
            times["packed"].append(_seconds_per_call(packed, args.calls))
        plain_s, packed_s = (statistics.median(times[name]) for name in ("plain", "packed"))
        ratios.append(packed_s / plain_s)
        print(f"| {rows} x {depth} x {width} | {plain_s * 1e6:.1f} | {packed_s * 1e6:.1f} | "
              f"{2 * rows * depth * width / plain_s / 1e9:.0f} | {packed_s / plain_s:.2f} |")
    faster = [r for r in ratios if r < 0.95]
    print(f"Packed products take {min(ratios):.2f}-{max(ratios):.2f}x the plain ones' time: "
          + ("faster at some shapes." if faster else "no gain at a step's shapes."))


if __name__ == "__main__":
    main()
