"""The torch trainer's cross-entropy at copy's standard shape (T=100: 120 steps, batch 128,
10 classes), forward and backward, against the same loss over rows flattened from the logits:
the layout bench_torch.trainer._xent avoids, since torch's CPU log-softmax over a short last
dimension is slow."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from bench_torch.trainer import _xent  # noqa: E402
from harness.tasks import IGNORE_TARGET  # noqa: E402


def _flattened(logits, targets):
    return F.cross_entropy(logits.flatten(0, -2), targets.flatten(), ignore_index=IGNORE_TARGET)


@pytest.mark.parametrize("loss", [_xent, _flattened], ids=["bench", "flattened rows"])
def test_copy_cross_entropy_forward_backward(benchmark, loss):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(128, 120, 10, generator=generator, requires_grad=True)
    targets = torch.randint(0, 10, (128, 120), generator=generator)
    targets[:, :100] = IGNORE_TARGET

    def step():
        loss(logits, targets).backward()
        logits.grad = None

    benchmark.group = "copy's cross-entropy, forward and backward: [128, 120, 10]"
    benchmark.pedantic(step, rounds=30, iterations=3, warmup_rounds=5)
