"""Which framework is faster for which cell: ``keras:X`` against ``torch:X`` at the standard
size, timed interleaved in one process so that the host's drift (±30% over minutes on a
shared VM) hits both sides alike. The ratio, not either time, is the finding. Both sides run
their framework's own kernels (``--kernel framework``), not bench's."""

from __future__ import annotations

import pytest

from .conftest import harness_trainer, interleaved_medians, training_step

CELLS = ["rnn", "lnrnn", "lstm", "gru"]


@pytest.mark.parametrize("cell", CELLS)
def test_keras_against_torch_training_step(benchmark, full_registry, cell):
    if not full_registry.backends["keras"].available:
        pytest.skip(full_registry.backends["keras"].reason)
    steps = {backend: training_step(*harness_trainer(full_registry, f"{backend}:{cell}",
                                                     kernel="framework")[1:])
             for backend in ("torch", "keras")}
    medians = interleaved_medians(steps, rounds=15, warmup=3)
    ratio = medians["keras"] / medians["torch"]
    benchmark.group = "keras ÷ torch training step: copy T=100, hidden 128, batch 128"
    benchmark.extra_info.update(torch_ms=medians["torch"] * 1e3,
                                keras_ms=medians["keras"] * 1e3, keras_over_torch=ratio)
    benchmark.pedantic(steps["keras"], rounds=3, iterations=1, warmup_rounds=0)
    print(f"\n{cell}: torch {medians['torch'] * 1e3:.1f} ms, keras {medians['keras'] * 1e3:.1f} ms,"
          f" keras/torch {ratio:.2f}")
