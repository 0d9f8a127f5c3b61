"""The torch trainer: loss, optimiser, clipping, skipped updates, learning, devices."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench_torch.trainer import build_trainer  # noqa: E402
from harness.catalogue import STANDARD_CELLS  # noqa: E402
from harness.errors import UsageError  # noqa: E402
from harness.tasks import IGNORE_TARGET  # noqa: E402
from harness.trainer import OPTIMIZERS  # noqa: E402
from tests.plugins.torch.configs import make_config, recall_first  # noqa: E402

CELL_NAMES = ("rnn", "lnrnn", "lstm", "gru")


def trainable(trainer) -> list:
    return [p for p in trainer.model.parameters() if p.requires_grad]


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_trainer_learns_a_trivial_memory_problem(cell):
    trainer = build_trainer(make_config(cell))
    rng = np.random.default_rng(1)
    held_out = recall_first(np.random.default_rng(2), batch=256)
    before, _ = trainer.evaluate(*held_out)

    results = [trainer.train_step(*recall_first(rng)) for _ in range(300)]

    after, outputs = trainer.evaluate(*held_out)
    assert all(r.applied for r in results)
    assert after < before / 20, (before, after)
    assert outputs.shape == (256, 1) and outputs.dtype == np.float32


def test_every_step_xent_averages_over_steps_that_are_not_ignored():
    trainer = build_trainer(make_config(
        "gru", input_size=3, output_size=4, readout="every_step", loss="xent"))
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 7, 3)).astype(np.float32)
    targets = rng.integers(0, 4, size=(6, 7))
    targets[:, :4] = IGNORE_TARGET

    loss, logits = trainer.evaluate(x, targets)

    assert logits.shape == (6, 7, 4) and logits.dtype == np.float32
    counted = targets != IGNORE_TARGET
    log_z = np.log(np.exp(logits.astype(np.float64)).sum(-1))
    picked = np.take_along_axis(logits, np.where(counted, targets, 0)[..., None], -1)[..., 0]
    assert loss == pytest.approx((log_z - picked)[counted].mean(), rel=1e-5)
    assert trainer.train_step(x, targets).loss == pytest.approx(loss, rel=1e-6)


def test_grad_norm_is_reported_before_clipping():
    clip = 1e-3
    trainer = build_trainer(make_config("lstm", optimizer="sgd", lr=1.0, clip_norm=clip))
    x, y = recall_first(np.random.default_rng(4))
    params = trainable(trainer)
    start = [p.detach().clone() for p in params]
    loss = torch.nn.functional.mse_loss(trainer.model(torch.from_numpy(x)), torch.from_numpy(y))
    manual = math.sqrt(sum(g.square().sum().item() for g in torch.autograd.grad(loss, params)))

    result = trainer.train_step(x, y)

    assert result.applied
    assert result.grad_norm == pytest.approx(manual, rel=1e-5)
    assert result.grad_norm > clip
    moved = math.sqrt(
        sum((p.detach() - s).square().sum().item() for p, s in zip(params, start, strict=True))
    )
    assert moved == pytest.approx(clip, rel=1e-3)  # SGD at lr 1 moves by the clipped gradient


def test_non_finite_loss_skips_the_update():
    trainer = build_trainer(make_config("lstm"))
    x, y = recall_first(np.random.default_rng(5))
    before = trainer.export_weights()

    result = trainer.train_step(np.full_like(x, np.inf), y)

    assert not result.applied
    assert not math.isfinite(result.loss)
    for key, value in trainer.export_weights().items():
        np.testing.assert_array_equal(value, before[key])
    assert trainer.train_step(x, y).applied
    assert not np.array_equal(trainer.export_weights()["U"], before["U"])


def test_input_gradient_matches_finite_differences_and_leaves_training_alone():
    trainer = build_trainer(make_config("lnrnn", options={"dropout": 0.5}))
    rng = np.random.default_rng(9)
    x, y = recall_first(rng, batch=4)
    direction = rng.normal(size=x.shape).astype(np.float32)
    eps = 1e-2

    grad = trainer.input_gradient(x, y)

    slope = (trainer.evaluate(x + eps * direction, y)[0]
             - trainer.evaluate(x - eps * direction, y)[0]) / (2 * eps)
    assert grad.shape == x.shape
    assert (grad * direction).sum() == pytest.approx(slope, rel=1e-2)
    assert trainer.model.training
    assert all(p.grad is None for p in trainable(trainer))


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_trainer_reports_weights_kernel_path_and_size(cell):
    config = make_config(cell, input_size=3, output_size=2, hidden=4, kernel="framework")
    trainer = build_trainer(config)

    for key, value in config.cell_weights.items():
        np.testing.assert_array_equal(trainer.export_weights()[key], value)
    gates = STANDARD_CELLS[cell].width
    canonical = 3 * gates * 4 + 4 * gates * 4 + gates * 4
    extra = {"lnrnn": 2 * 4, "gru": gates * 4}.get(cell, 0)  # gamma/beta, b_rec
    assert trainer.parameter_count == canonical + extra + 4 * 2 + 2
    assert trainer.kernel_path == ("loop" if cell == "lnrnn" else f"fused:nn.{cell.upper()}")
    assert trainer.device == "cpu"
    assert trainer.peak_device_memory() is None


def test_recurrent_dropout_takes_the_loop():
    trainer = build_trainer(make_config("lstm", options={"recurrent_dropout": 0.2},
                                        kernel="framework"))
    assert trainer.kernel_path == "loop"


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_applies_an_update(optimizer):
    trainer = build_trainer(make_config("rnn", optimizer=optimizer))
    before = trainer.export_weights()["W"]
    assert trainer.train_step(*recall_first(np.random.default_rng(6))).applied
    assert not np.array_equal(trainer.export_weights()["W"], before)


def test_seed_fixes_the_dropout_masks_and_evaluation_is_deterministic():
    options = {"dropout": 0.3, "recurrent_dropout": 0.3}
    batch = recall_first(np.random.default_rng(7))
    losses = []
    for seed in (0, 0, 1):
        trainer = build_trainer(make_config("gru", options=options, seed=seed))
        losses.append(trainer.train_step(*batch).loss)

    assert losses[0] == losses[1] != losses[2]
    assert trainer.evaluate(*batch)[0] == trainer.evaluate(*batch)[0]
    assert trainer.model.training  # evaluate leaves the trainer in training mode


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"precision": "float16"}, "supports precision 'float32' only, got 'float16'"),
        ({"optimizer": "adamw"}, "unknown optimizer 'adamw'"),
        ({"device": "gpu0"}, "unknown torch device 'gpu0'"),
    ],
)
def test_bad_configuration_raises_usage_error(overrides, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        build_trainer(make_config(**overrides))


def test_a_cell_without_the_protocol_is_refused_before_it_trains():
    """A plain nn.Module without ``kernel_path`` trained a whole run, then failed writing its
    record."""
    class Bare(torch.nn.Module):
        def forward(self, x):
            return x, x[:, -1]

    with pytest.raises(TypeError, match=re.escape(
            "cell 'bare' (Bare) has no load_canonical, export_canonical, canonical_parameters, "
            "kernel_path, which every torch cell has (see bench_torch.cells)")):
        build_trainer(replace(make_config(), cell_name="bare", cell_factory=lambda *_: Bare()))


def test_outputs_in_another_layout_are_named_not_a_shape_error_in_the_loss():
    from bench_torch.plugin import build_cell

    def time_major(input_size, hidden, options):
        cell = build_cell("rnn", input_size, hidden, options)
        forward = cell.forward
        cell.forward = lambda x: (forward(x)[0].transpose(0, 1), None)
        return cell

    trainer = build_trainer(replace(make_config("rnn", output_size=3), cell_factory=time_major,
                                    readout="every_step", loss="xent"))
    with pytest.raises(ValueError, match=re.escape(
            "the cell returned outputs of shape (5, 2, 8), expected (2, 5, 8), [batch, time, "
            "hidden] (bench_torch.cells)")):
        trainer.evaluate(np.zeros((2, 5, 2), np.float32), np.zeros((2, 5), np.int64))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_is_refused_where_there_is_none():
    with pytest.raises(UsageError, match=re.escape("device 'cuda' is not available to torch")):
        build_trainer(make_config(device="cuda"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("cell", ["lstm", "lnrnn"])
def test_cuda_trainer_matches_cpu(cell):
    batch = recall_first(np.random.default_rng(8))
    cpu, cuda = (build_trainer(make_config(cell, device=d)) for d in ("cpu", "cuda"))

    cpu_step, cuda_step = cpu.train_step(*batch), cuda.train_step(*batch)

    assert cuda.device == "cuda" and cuda.peak_device_memory() > 0
    assert cuda_step.loss == pytest.approx(cpu_step.loss, rel=1e-4)
    assert cuda_step.grad_norm == pytest.approx(cpu_step.grad_norm, rel=1e-4)
    np.testing.assert_allclose(cuda.evaluate(*batch)[1], cpu.evaluate(*batch)[1], atol=1e-4)
