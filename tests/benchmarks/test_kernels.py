"""bench's own recurrence (``--kernel bench``) against the frameworks' kernels (issue 13), in
PyTorch on the CPU at the standard size, timed interleaved in one process; and each step
against its matrix-multiply floor measured in the same benchmark: the step's GFLOP divided
by the GEMM rate this machine reaches at the recurrent product's shapes.

The peak memory of one training step at T=1000 is measured in a fresh process per path
(the growth of the process's peak resident set over one step), so the paths cannot share
an allocator's cache.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")

from harness.catalogue import STANDARD_CELLS  # noqa: E402

from .conftest import STANDARD, harness_trainer, interleaved_medians, training_step  # noqa: E402

PATHS = ("framework", "bench")


def step_gflop(cell: str, inputs_shape: tuple[int, ...], hidden: int, output_size: int) -> float:
    """The training step's matrix products: each product of the forward pass (input
    projection, recurrent product, read-out) once forward and twice backward (the recurrent
    one for the state's and the weight's gradient), less the inputs' gradient, not needed."""
    batch, steps, input_size = inputs_shape
    width = STANDARD_CELLS[cell].width * hidden
    per_step = 3 * hidden * width + 2 * input_size * width + 3 * hidden * output_size
    return 2 * steps * batch * per_step / 1e9


def gemm_gflops(batch: int, hidden: int, width: int, repeats: int = 200) -> float:
    """The rate of the recurrent product [batch, hidden] x [hidden, width], best of 5."""
    a, b = torch.randn(batch, hidden), torch.randn(hidden, width)
    out = torch.empty(batch, width)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * batch * hidden * width * repeats / best / 1e9


@pytest.mark.parametrize("cell", list(STANDARD_CELLS))
def test_bench_kernel_against_framework_and_floor(benchmark, full_registry, cell):
    steps, paths = {}, {}
    for kernel in PATHS:
        run, trainer, batches = harness_trainer(full_registry, f"torch:{cell}", kernel=kernel)
        steps[kernel] = training_step(trainer, batches)
        paths[kernel] = trainer.kernel_path
    medians = interleaved_medians(steps, rounds=15, warmup=3)
    gflop = step_gflop(cell, batches[0].inputs.shape, run.spec.hidden, run.task.output_size)
    rate = gemm_gflops(run.spec.batch, run.spec.hidden,
                       STANDARD_CELLS[cell].width * run.spec.hidden)
    floor_ms = gflop / rate * 1e3
    bench_ms, framework_ms = medians["bench"] * 1e3, medians["framework"] * 1e3
    info = dict(framework_path=paths["framework"], framework_ms=framework_ms,
                bench_ms=bench_ms, speedup=framework_ms / bench_ms, step_gflop=gflop,
                gemm_gflops=rate, floor_ms=floor_ms, bench_over_floor=bench_ms / floor_ms)
    benchmark.group = "bench kernel vs framework, training step: copy T=100, h128, b128"
    benchmark.extra_info.update(info)
    benchmark.pedantic(steps["bench"], rounds=3, iterations=1, warmup_rounds=0)
    print(f"\n{cell}: {paths['framework']} {framework_ms:.1f} ms, bench {bench_ms:.1f} ms "
          f"(x{framework_ms / bench_ms:.2f}); floor {floor_ms:.1f} ms = {gflop:.2f} GFLOP / "
          f"{rate:.0f} GFLOP/s, bench/floor {bench_ms / floor_ms:.2f}")
    assert paths["bench"] == "bench-fused"


PEAK_PROGRAM = """
import json, resource, sys
from tests.benchmarks.conftest import harness_trainer, training_step
from tests.helpers import make_host
cell, kernel, length = sys.argv[1], sys.argv[2], int(sys.argv[3])
_, trainer, batches = harness_trainer(make_host().registry, f"torch:{cell}", kernel=kernel,
                                      task_params={"length": length})
step = training_step(trainer, batches[:1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
step()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"path": trainer.kernel_path, "peak_growth_mb": (after - before) / 1024}))
"""


def step_peak_memory(cell: str, kernel: str, length: int) -> dict:
    """One training step in a fresh process: its path and how far it raised the peak RSS."""
    done = subprocess.run([sys.executable, "-c", PEAK_PROGRAM, cell, kernel, str(length)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


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
    print(f"\n{cell} T={length}: peak growth over one step, {peaks['framework']['path']} "
          f"{growth['framework']:.0f} MB, bench {growth['bench']:.0f} MB")
    assert growth["bench"] <= growth["framework"] * 1.05
