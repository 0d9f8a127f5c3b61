"""The Keras trainer: learning, loss, clipping, skipped updates, dropout, configuration."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from bench_keras.trainer import build_trainer  # noqa: E402
from harness.catalogue import STANDARD_CELLS  # noqa: E402
from harness.errors import BackendUnavailableError, UsageError  # noqa: E402
from harness.tasks import IGNORE_TARGET  # noqa: E402
from tests.toyplugins import EchoTask  # noqa: E402


def echo(seed: int, batch: int = 16):
    sample = EchoTask(length=5).sample(np.random.default_rng(seed), batch)
    return sample.inputs, sample.targets


def test_learns_a_trivial_problem_and_reports_itself(make_config):
    config = make_config("lstm")
    trainer = build_trainer(config)
    held_out = echo(0, batch=64)
    before, _ = trainer.evaluate(*held_out)
    first = trainer.train_step(*held_out)
    assert first.loss == pytest.approx(before, rel=1e-5)  # no dropout: training = inference

    results = [trainer.train_step(*echo(seed)) for seed in range(1, 40)]

    after, logits = trainer.evaluate(*held_out)
    assert all(r.applied for r in results)
    assert after < before / 20, (before, after)
    assert logits.shape == (64, 5, 4) and logits.dtype == np.float32
    canonical = sum(v.size for v in config.cell_weights.values())
    assert trainer.parameter_count == canonical + 8 * 4 + 4
    assert (trainer.kernel_path, trainer.device) == ("keras:LSTM", "cpu")
    assert trainer.peak_device_memory() is None


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_the_trainer_and_the_probe_compute_in_float32_under_any_global_policy(
        policy, make_config, keras_registry, canonical_weights):
    """A program that set a global mixed-precision policy gets what the records say: float32
    (under mixed_float16 the trainer trained float16 layers without loss scaling)."""
    held_out = echo(0, batch=8)
    expected, _ = build_trainer(make_config("lstm")).evaluate(*held_out)
    cotangent = np.ones((8, 5, 8), np.float32)
    probe = keras_registry.backends["keras"].probe_cell
    cell = keras_registry.cells[("keras", "lstm")]
    weights = canonical_weights("lstm", 4, 8)
    reference = probe(cell, weights, held_out[0], cotangent, {})
    keras.config.set_dtype_policy(policy)
    try:
        loss, logits = build_trainer(make_config("lstm")).evaluate(*held_out)
        probed = probe(cell, weights, held_out[0], cotangent, {})
    finally:
        keras.config.set_dtype_policy("float32")
    assert logits.dtype == np.float32 and loss == pytest.approx(expected, rel=1e-6)
    assert probed.outputs.dtype == np.float32
    np.testing.assert_allclose(probed.outputs, reference.outputs, rtol=1e-6)


def test_xent_averages_over_steps_that_are_not_ignored(make_config):
    trainer = build_trainer(make_config("gru"))
    inputs, targets = echo(2, batch=6)
    targets[:, :3] = IGNORE_TARGET

    loss, logits = trainer.evaluate(inputs, targets)

    counted = targets != IGNORE_TARGET
    log_z = np.log(np.exp(logits.astype(np.float64)).sum(-1))
    picked = np.take_along_axis(logits, np.where(counted, targets, 0)[..., None], -1)[..., 0]
    assert loss == pytest.approx((log_z - picked)[counted].mean(), rel=1e-5)


def test_grad_norm_is_measured_before_clipping_and_the_update_clipped(make_config):
    lr, clip = 0.5, 1e-3
    config = make_config("rnn", input_size=2, output_size=1, readout="last_step", loss="mse",
                         optimizer="sgd", lr=lr, clip_norm=clip)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(8, 4, 2)).astype(np.float32)
    y = x[:, 0, :1].copy()
    weights, readout = config.cell_weights, config.readout_weights
    # The same model written by hand with plain Keras layers and a tape.
    rnn, dense = keras.layers.SimpleRNN(config.hidden), keras.layers.Dense(1)
    rnn.build((None, None, 2))
    dense.build((None, config.hidden))
    rnn.set_weights([weights["W"], weights["U"], weights["b"]])
    dense.set_weights([readout["kernel"], readout["bias"]])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(dense(rnn(x)) - y))
    grads = tape.gradient(loss, rnn.trainable_weights + dense.trainable_weights)
    norm = float(tf.linalg.global_norm(grads))
    trainer = build_trainer(config)

    result = trainer.train_step(x, y)

    assert result.applied and norm > clip
    assert result.loss == pytest.approx(float(loss), rel=1e-5)
    assert result.grad_norm == pytest.approx(norm, rel=1e-5)
    after = trainer.export_weights()
    for key, grad in zip(("W", "U", "b"), grads, strict=False):
        expected = weights[key] - lr * clip / norm * grad.numpy()
        np.testing.assert_allclose(after[key], expected, rtol=1e-5, atol=1e-7)


def test_a_non_finite_step_is_skipped(make_config):
    trainer = build_trainer(make_config("lnrnn"))
    inputs, targets = echo(4)
    before = trainer.export_weights()
    poisoned = inputs.copy()
    poisoned[0, 2, 1] = np.nan

    skipped = trainer.train_step(poisoned, targets)

    assert not skipped.applied and math.isnan(skipped.loss) and math.isnan(skipped.grad_norm)
    for key, value in trainer.export_weights().items():
        np.testing.assert_array_equal(value, before[key])
    assert int(trainer.optimizer.iterations.numpy()) == 0
    assert trainer.train_step(inputs, targets).applied
    assert not np.array_equal(trainer.export_weights()["U"], before["U"])


def test_dropout_in_training_only_with_masks_from_the_seed(make_config):
    """On lnrnn, whose masks are the custom cell's own (Keras's layers: test_keras_cells)."""
    cell = "lnrnn"
    options = {"dropout": 0.3, "recurrent_dropout": 0.3}
    inputs, targets = echo(5)
    trainers = [build_trainer(make_config(cell, options=options, optimizer="rmsprop",
                                          seed=seed)) for seed in (0, 0, 1)]
    config = make_config(cell)
    state, _ = STANDARD_CELLS[cell].reference(inputs.astype(np.float64), config.cell_weights)
    expected = state @ config.readout_weights["kernel"] + config.readout_weights["bias"]

    evaluations = [t.evaluate(inputs, targets) for t in trainers]
    losses = [t.train_step(inputs, targets).loss for t in trainers]

    np.testing.assert_allclose(evaluations[0][1], expected, atol=1e-5)  # no dropout
    assert evaluations[0][0] == evaluations[2][0]
    assert losses[0] == losses[1] != losses[2]  # the masks come from the seed
    assert abs(losses[0] - evaluations[0][0]) > 1e-4


@pytest.mark.parametrize(("overrides", "error", "message"), [
    ({"optimizer": "adamw"}, UsageError, "unknown optimizer 'adamw'"),
    ({"precision": "float16"}, UsageError, "float32 only, not 'float16'"),
    ({"options": {"dropout": 1.5}}, UsageError, "dropout must be a number in [0, 1)"),
])
def test_bad_configuration_is_a_usage_error(make_config, overrides, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build_trainer(make_config(**overrides))


@pytest.mark.skipif(bool(tf.config.list_logical_devices("GPU")), reason="needs no GPU")
def test_cuda_is_refused_where_there_is_none(make_config):
    with pytest.raises(BackendUnavailableError, match="device 'cuda' is not available"):
        build_trainer(make_config(device="cuda"))
