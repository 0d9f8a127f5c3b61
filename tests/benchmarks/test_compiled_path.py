"""Custom cells at speed on a GPU: the LN-RNN's training step, captured whole in a CUDA
graph, against cuDNN's LSTM on the same GPU (issue 6: within 3x at T=100, 5x at T=1000).

Needs CUDA; skipped without it.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from bench_torch.graph import WARMUP_STEPS  # noqa: E402

from .conftest import harness_trainer, interleaved_medians, training_step  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

TARGETS = {100: 3.0, 1000: 5.0}
"""Copy-task delay T -> the most lnrnn's step may take, as a multiple of cuDNN lstm's."""
CELLS = {"torch:lnrnn": "loop+cuda-graph", "torch:lstm": "fused:nn.LSTM"}


@pytest.mark.parametrize("length", sorted(TARGETS))
def test_lnrnn_cuda_graph_step_vs_cudnn_lstm(benchmark, full_registry, length):
    trainers, steps = {}, {}
    for cell in CELLS:
        _, trainer, batches = harness_trainer(full_registry, cell, device="cuda",
                                              task_params={"length": length})
        trainers[cell] = trainer
        steps[cell] = training_step(trainer, batches)

    # The warm-up covers lnrnn's eager steps and its capture.
    medians = interleaved_medians(steps, rounds=30, warmup=WARMUP_STEPS + 2)

    lnrnn_ms, lstm_ms = (medians[cell] * 1e3 for cell in CELLS)
    ratio = lnrnn_ms / lstm_ms
    benchmark.extra_info.update(length=length, lnrnn_ms=lnrnn_ms, lstm_ms=lstm_ms, ratio=ratio,
                                target=TARGETS[length], device=torch.cuda.get_device_name())
    benchmark.pedantic(steps["torch:lnrnn"], rounds=10, iterations=1, warmup_rounds=1)
    print(f"\ncopy T={length} b128 h128 on {torch.cuda.get_device_name()}: lnrnn "
          f"{lnrnn_ms:.2f} ms, cuDNN lstm {lstm_ms:.2f} ms, ratio {ratio:.2f} "
          f"(target {TARGETS[length]:g})")
    assert {cell: trainers[cell].kernel_path for cell in CELLS} == CELLS
    assert ratio < TARGETS[length]

