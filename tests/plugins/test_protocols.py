"""Every protocol field changes training the way it says, in the torch and the Keras trainer
alike: real tiny models, a few steps, the weights read back in the canonical layout."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from harness.canonical import init_readout
from harness.protocol import LrSchedule
from harness.trainer import TrainerConfig
from tests.helpers import make_host

BACKENDS = [pytest.param(name, marks=pytest.mark.skipif(
    importlib.util.find_spec(name) is None, reason=f"needs {name}")) for name in ("torch", "keras")]
INPUT, HIDDEN, TIME, BATCH = 3, 8, 6, 16


@pytest.fixture(scope="module")
def registry():
    names = [name for name in ("torch", "keras") if importlib.util.find_spec(name)]
    return make_host(*names).registry


def config(registry, backend: str, cell: str = "rnn", **protocol) -> TrainerConfig:
    rng = np.random.default_rng(0)
    entry = registry.cells[(backend, cell)]
    settings = {"optimizer": "sgd", "lr": 0.1, "clip_norm": None, **protocol}
    return TrainerConfig(
        cell_name=cell, cell_factory=entry.factory, input_size=INPUT, output_size=1,
        hidden=HIDDEN, readout="last_step", loss="mse", options={}, device="cpu",
        precision="float32", seed=0, cell_weights=entry.initializer(INPUT, HIDDEN, rng),
        readout_weights=init_readout(HIDDEN, 1, rng), **settings)


def batch(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(BATCH, TIME, INPUT)).astype(np.float32)
    return x, 10.0 + x[:, :1, 0]  # far from the initial outputs: large gradients


def moves(registry, backend: str, count: int, **protocol) -> list[np.ndarray]:
    """The largest |change| of any cell weight at each of ``count`` steps."""
    trainer = registry.backends[backend].build_trainer(config(registry, backend, **protocol))
    largest, before = [], trainer.export_weights()
    for step in range(count):
        result = trainer.train_step(*batch(step))
        assert result.applied
        after = trainer.export_weights()
        largest.append(max(np.abs(after[k] - before[k]).max() for k in after))
        before = after
    return largest


@pytest.mark.parametrize("backend", BACKENDS)
def test_clip_value_bounds_every_gradient_element(registry, backend):
    """SGD moves each weight by lr x its gradient: with --clip-value 0.01 no weight moves
    more than 0.1 x 0.01, and some move exactly that much (their gradient was larger)."""
    unclipped = moves(registry, backend, 1)
    clipped = moves(registry, backend, 1, clip_value=0.01)
    assert unclipped[0] > 0.1 * 0.01 * 2
    assert clipped[0] == pytest.approx(0.1 * 0.01, rel=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_step_schedule_changes_the_rate_at_the_step(registry, backend):
    """step:2:0.5 halves the rate after every two updates; clipped gradients make the
    largest move lr_t x clip, so the moves show the rate."""
    largest = moves(registry, backend, 5, clip_value=0.01, lr_schedule=LrSchedule.parse(
        "step:2:0.5"))
    expected = [0.1 * 0.01 * f for f in (1, 1, 0.5, 0.5, 0.25)]
    np.testing.assert_allclose(largest, expected, rtol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cosine_schedule_falls_to_zero_at_the_last_step(registry, backend):
    largest = moves(registry, backend, 4, clip_value=0.01, steps=4,
                    lr_schedule=LrSchedule.parse("cosine"))
    expected = [0.1 * 0.01 * 0.5 * (1 + np.cos(np.pi * t / 4)) for t in range(4)]
    np.testing.assert_allclose(largest, expected, rtol=1e-4)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_weight_decay_shrinks_each_weight_before_the_update(registry, backend, optimizer):
    """Decoupled decay: one step with decay lands lr x decay x w below the same step
    without it, whatever the optimiser; with no gradient, it shrinks the weights alone."""
    def one_step(**protocol):
        trainer = registry.backends[backend].build_trainer(
            config(registry, backend, optimizer=optimizer, **protocol))
        before = trainer.export_weights()
        trainer.train_step(*batch())
        return before, trainer.export_weights()

    before, plain = one_step()
    _, decayed = one_step(weight_decay=0.5)
    for name in before:
        np.testing.assert_allclose(decayed[name], plain[name] - 0.1 * 0.5 * before[name],
                                   atol=2e-6)
    # A clip of 1e-30 leaves no gradient to speak of: only the decay moves the weights.
    _, shrunk = one_step(weight_decay=0.5, clip_value=1e-30)
    for name in before:
        np.testing.assert_allclose(shrunk[name], before[name] * (1 - 0.1 * 0.5), atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_epsilon_reaches_the_optimiser(registry, backend):
    """Adam's first step moves each weight by about lr (g / |g|): an epsilon far above
    |g| all but stops it."""
    small = moves(registry, backend, 1, optimizer="adam", lr=0.01)
    large = moves(registry, backend, 1, optimizer="adam", lr=0.01, epsilon=1e6)
    assert small[0] == pytest.approx(0.01, rel=1e-3)
    assert large[0] < 0.01 * 1e-3


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_framework_init_is_torchs_own_module(registry, cell):
    """--init framework: the weights nn.LSTM (nn.RNN, nn.GRU) draws from the run's seed,
    U(-1/sqrt(H), 1/sqrt(H)), so the initial function is torch's own module's."""
    import torch
    from torch import nn

    trainer = registry.backends["torch"].build_trainer(
        config(registry, "torch", cell, init="framework"))
    torch.manual_seed(0)
    reference = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](
        INPUT, HIDDEN, batch_first=True)
    weights = trainer.export_weights()
    np.testing.assert_array_equal(weights["W"], reference.weight_ih_l0.detach().numpy().T)
    np.testing.assert_array_equal(weights["U"], reference.weight_hh_l0.detach().numpy().T)
    assert np.abs(weights["U"]).max() <= HIDDEN ** -0.5
    x = torch.as_tensor(batch()[0])
    with torch.no_grad():
        np.testing.assert_allclose(trainer.model.cell(x)[0].numpy(), reference(x)[0].numpy(),
                                   atol=1e-6)
    canonical = registry.backends["torch"].build_trainer(config(registry, "torch", cell))
    assert not np.allclose(canonical.export_weights()["U"], weights["U"])


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs keras")
def test_framework_init_is_keras_own_layer(registry):
    """Keras's LSTM draws an orthogonal recurrent kernel and a unit forget bias, from the
    run's seed: the same weights twice, not bench's canonical ones."""
    def weights(init):
        return registry.backends["keras"].build_trainer(
            config(registry, "keras", "lstm", init=init)).export_weights()

    framework, again, canonical = weights("framework"), weights("framework"), weights(
        "canonical")
    u = framework["U"]
    np.testing.assert_allclose(u @ u.T, np.eye(HIDDEN), atol=1e-5)
    np.testing.assert_array_equal(framework["b"][HIDDEN:2 * HIDDEN], 1.0)
    for name in framework:
        np.testing.assert_array_equal(framework[name], again[name])
    assert not np.allclose(framework["W"], canonical["W"])


@pytest.mark.skipif(not all(importlib.util.find_spec(n) for n in ("torch", "keras")),
                    reason="needs torch and keras")
@pytest.mark.parametrize("protocol", [
    {"optimizer": "sgd", "clip_value": 0.05, "weight_decay": 0.1,
     "lr_schedule": LrSchedule.parse("step:2:0.5")},
    {"optimizer": "sgd", "clip_norm": 1.0, "weight_decay": 0.1, "steps": 4,
     "lr_schedule": LrSchedule.parse("cosine")},
], ids=["value-step", "norm-cosine"])
def test_one_protocol_trains_alike_in_both_backends(registry, protocol):
    """From the canonical weights, four SGD steps under one protocol end at the same
    weights in torch and in Keras: each backend honours clipping, decay and schedule the
    same way. (Adam and RMSprop divide by their gradient statistics, where each framework
    puts epsilon in its own place: their trajectories part where |g| nears epsilon,
    docs/protocols.md.)"""
    weights = {}
    for backend in ("torch", "keras"):
        trainer = registry.backends[backend].build_trainer(
            config(registry, backend, "lstm", **protocol))
        for step in range(4):
            trainer.train_step(*batch(step))
        weights[backend] = trainer.export_weights()
    for name, value in weights["torch"].items():
        np.testing.assert_allclose(weights["keras"][name], value, atol=2e-5, rtol=1e-4)
