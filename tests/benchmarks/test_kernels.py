"""bench's own recurrences (``--kernel compiled``, ``--kernel bench``) against the frameworks'
kernels (issue 13), as
pytest-benchmark records; ``python -m tests.benchmarks.kernels_table`` prints the same
measurements as one table (the README's)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from harness.catalogue import STANDARD_CELLS  # noqa: E402

from .conftest import STANDARD  # noqa: E402
from .kernels_table import FAST, PATHS, step_peak_memory, step_times  # noqa: E402


@pytest.mark.parametrize("cell", list(STANDARD_CELLS))
def test_bench_kernel_against_framework_and_floor(benchmark, full_registry, cell):
    info = step_times(full_registry, cell, rounds=15)
    benchmark.group = "bench kernel vs framework, training step: copy T=100, h128, b128"
    ms = info["ms"]
    benchmark.extra_info.update(info, speedup=ms["framework"] / ms[FAST],
                                compiled_over_floor=ms[FAST] / info["floor_ms"])
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print(f"\n{cell}: " + ", ".join(f"{info['paths'][k]} {ms[k]:.1f} ms" for k in PATHS)
          + f"; framework/compiled x{ms['framework'] / ms[FAST]:.2f}; floor "
          f"{info['floor_ms']:.1f} ms ({info['gflop']:.2f} GFLOP), compiled/floor "
          f"{ms[FAST] / info['floor_ms']:.2f}")
    assert info["paths"] == {"framework": info["paths"]["framework"], "bench": "bench-fused",
                             FAST: "bench-compiled"}


@pytest.mark.parametrize("cell", list(STANDARD_CELLS))
def test_bench_kernel_peak_memory_at_t1000(benchmark, cell):
    """Not more than the framework path's (issue 13), at copy T=1000, batch 128."""
    length = 1000
    peaks = {kernel: step_peak_memory(cell, kernel, length) for kernel in PATHS}
    growth = {kernel: peak["peak_growth_mb"] for kernel, peak in peaks.items()}
    benchmark.group = f"peak memory of one step: copy T={length}, h128, b{STANDARD['batch']}"
    benchmark.extra_info.update({f"{k}_peak_growth_mb": v for k, v in growth.items()},
                                framework_path=peaks["framework"]["path"])
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print(f"\n{cell} T={length}: peak growth over one step, "
          + ", ".join(f"{peaks[k]['path']} {growth[k]:.0f} MB" for k in PATHS))
    assert growth["bench"] <= growth["framework"] * 1.05
    assert growth[FAST] <= growth["framework"] * 1.05
