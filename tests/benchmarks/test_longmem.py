"""The long-memory cells' training step against ``torch:lstm`` (torch's fused oneDNN LSTM) at
the standard size, timed interleaved in one process so that the host's drift hits every
side alike: each cell's torch version as ``auto`` runs it on the CPU, its parallel scan
where it has one (``--kernel bench``), and its Keras version. The ratios to the LSTM, not
the times, are the finding (docs/cells.md)."""

from __future__ import annotations

import os

import pytest

import bench_longmem.plugin
from tests.helpers import make_host

from .conftest import harness_trainer, interleaved_medians, training_step

CELLS = ["indrnn", "exprnn", "mingru", "minlstm", "lru"]
SCAN_CELLS = {"mingru", "minlstm", "lru"}


THREADS = 1
"""Each framework's threads, as bench's policy sets them for a run on a busy machine (README
"Threads and shared machines"): with two spinning torch threads on a loaded 2-core VM the
LSTM step took 6 s instead of ~0.1 s."""


@pytest.fixture(scope="module")
def registry():
    registry = make_host("tasks", "torch", "keras",
                         longmem_torch=bench_longmem.plugin.torch_cells,
                         longmem_keras=bench_longmem.plugin.keras_cells).registry
    for backend in registry.available_backends():
        backend.set_threads(THREADS)
    return registry


@pytest.mark.parametrize("cell", CELLS)
def test_long_memory_cell_against_the_lstm(benchmark, registry, cell):
    sides = {"torch:lstm": ("torch:lstm", "auto"), f"torch:{cell}": (f"torch:{cell}", "auto")}
    if cell in SCAN_CELLS:
        sides[f"torch:{cell} --kernel bench"] = (f"torch:{cell}", "bench")
    if registry.backends["keras"].available:
        sides[f"keras:{cell}"] = (f"keras:{cell}", "auto")
    steps = {}
    for side, (name, kernel) in sides.items():
        _, trainer, batches = harness_trainer(registry, name, kernel=kernel)
        steps[f"{side} [{trainer.kernel_path}]"] = training_step(trainer, batches)
    load_before = os.getloadavg()[0]
    medians = interleaved_medians(steps, rounds=10, warmup=3)
    lstm = next(m for side, m in medians.items() if side.startswith("torch:lstm"))
    benchmark.group = "long-memory cell ÷ torch:lstm training step: copy T=100, hidden 128, " \
                      "batch 128"
    benchmark.extra_info.update({f"{side}_ms": m * 1e3 for side, m in medians.items()})
    benchmark.pedantic(steps[next(iter(steps))], rounds=1, iterations=1, warmup_rounds=0)
    print(f"\n{cell} (load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}):")
    for side, median in medians.items():
        print(f"  {side}: {median * 1e3:.1f} ms/step, {median / lstm:.2f} x torch:lstm")
