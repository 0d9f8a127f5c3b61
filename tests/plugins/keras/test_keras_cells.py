"""The Keras cells: the reference equations, gradients, canonical weights, kernel paths."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

from bench_keras import cells  # noqa: E402
from harness.catalogue import STANDARD_CELLS  # noqa: E402
from harness.errors import UsageError  # noqa: E402

CELL_NAMES = tuple(STANDARD_CELLS)
INPUT, HIDDEN, BATCH, TIME = 3, 5, 2, 6


@pytest.fixture(scope="module")
def probe(keras_registry):
    return keras_registry.backends["keras"].probe_cell


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(BATCH, TIME, INPUT)).astype(np.float32)
    cotangent = rng.normal(size=(BATCH, TIME, HIDDEN)).astype(np.float32)
    return inputs, cotangent


def _reference(name, inputs, weights):
    outputs, state = STANDARD_CELLS[name].reference(np.asarray(inputs, np.float64), weights)
    return outputs, state if isinstance(state, tuple) else (state,)


def _reference_loss(name, inputs, weights, cotangent) -> float:
    return float((_reference(name, inputs, weights)[0] * cotangent).sum())


def _numeric_grad(loss, array: np.ndarray, indices) -> np.ndarray:
    """Central differences in float64 of ``loss()`` w.r.t. ``array`` at ``indices``."""
    grads, step = [], 1e-4
    for index in indices:
        original = array[index]
        array[index] = original + step
        plus = loss()
        array[index] = original - step
        minus = loss()
        array[index] = original
        grads.append((plus - minus) / (2 * step))
    return np.array(grads)


@pytest.mark.parametrize("name", CELL_NAMES)
def test_forward_matches_the_reference_equations(name, probe, keras_cell, canonical_weights,
                                                  data):
    inputs, cotangent = data
    weights = canonical_weights(name, INPUT, HIDDEN)
    result = probe(keras_cell(name), weights, inputs, cotangent, {})
    outputs, state = _reference(name, inputs, weights)
    np.testing.assert_allclose(result.outputs, outputs, atol=1e-5)
    assert len(result.final_state) == len(state)
    for got, want in zip(result.final_state, state, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("name", CELL_NAMES)
def test_gradients_are_canonical_and_match_finite_differences(name, probe, keras_cell,
                                                              canonical_weights, data):
    inputs, cotangent = data
    weights = canonical_weights(name, INPUT, HIDDEN)
    result = probe(keras_cell(name), weights, inputs, cotangent, {})
    assert {k: v.shape for k, v in result.weight_grads.items()} == {
        k: v.shape for k, v in weights.items()
    }
    rng = np.random.default_rng(2)
    wide = {k: v.astype(np.float64) for k, v in weights.items()}
    x = inputs.astype(np.float64)

    def loss() -> float:
        return _reference_loss(name, x, wide, cotangent)

    checks = [(x, result.input_grad)] + [(wide[k], g) for k, g in result.weight_grads.items()]
    for array, grad in checks:
        flat = rng.choice(array.size, size=min(6, array.size), replace=False)
        indices = [np.unravel_index(i, array.shape) for i in flat]
        expected = _numeric_grad(loss, array, indices)
        np.testing.assert_allclose([grad[i] for i in indices], expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", CELL_NAMES)
def test_canonical_weights_round_trip_exactly(name, keras_cell, canonical_weights):
    layer = keras_cell(name).factory(INPUT, HIDDEN, {})
    weights = canonical_weights(name, INPUT, HIDDEN)
    layer.load_canonical(weights)
    back = layer.export_canonical()
    assert list(back) == list(weights)
    for key, value in weights.items():
        assert back[key].dtype == np.float32
        np.testing.assert_array_equal(back[key], value)


def test_gru_gate_blocks_go_to_keras_order_z_r_h(keras_cell):
    """Canonical blocks r, z, n filled with 1, 2, 3 (plus 10 per array) land as z, r, h."""
    hidden = 2
    blocks = np.repeat(np.arange(1.0, 4.0, dtype=np.float32), hidden)
    weights = {"W": np.tile(blocks, (INPUT, 1)), "U": np.tile(blocks + 10, (hidden, 1)),
               "b": blocks + 20, "b_rec": blocks + 30}
    layer = keras_cell("gru").factory(INPUT, hidden, {})
    layer.load_canonical(weights)
    arrays = {k: v.numpy() for k, v in layer.keras_variables().items()}
    assert arrays["kernel"][0, ::hidden].tolist() == [2, 1, 3]
    assert arrays["recurrent_kernel"][0, ::hidden].tolist() == [12, 11, 13]
    assert arrays["bias"][:, ::hidden].tolist() == [[22, 21, 23], [32, 31, 33]]


def test_wrong_canonical_weights_are_refused(keras_cell, canonical_weights):
    layer = keras_cell("gru").factory(INPUT, HIDDEN, {})
    weights = canonical_weights("gru", INPUT, HIDDEN)
    with pytest.raises(ValueError, match="b_rec"):
        layer.load_canonical({k: v for k, v in weights.items() if k != "b_rec"})
    with pytest.raises(ValueError, match=r"got .*\(5, 14\)"):
        layer.load_canonical({**weights, "U": weights["U"][:, :-1]})


@pytest.mark.parametrize(("name", "options", "path"), [
    ("rnn", {}, "keras:SimpleRNN"),
    ("lnrnn", {}, "loop"),
    ("lstm", {}, "keras:LSTM"),
    ("gru", {"dropout": 0.1}, "keras:GRU"),
])
def test_cpu_runs_keras_own_layers(name, options, path, keras_cell):
    layer = keras_cell(name).factory(INPUT, HIDDEN, options)
    assert layer.select_kernel("cpu") == path == layer.kernel_path
    if name in ("lstm", "gru"):
        assert layer.rnn.use_cudnn is False


@pytest.mark.parametrize(("name", "options", "path"), [
    ("lstm", {"dropout": 0.2}, "fused:cudnn"),
    ("gru", {}, "fused:cudnn"),
    ("lstm", {"recurrent_dropout": 0.2}, "keras:LSTM"),
    ("rnn", {}, "keras:SimpleRNN"),
    ("lnrnn", {}, "loop"),
])
def test_cudnn_is_claimed_only_where_keras_takes_it(monkeypatch, keras_cell, name, options,
                                                    path):
    monkeypatch.setattr(cells, "cudnn_available", lambda device: device == "cuda")
    layer = keras_cell(name).factory(INPUT, HIDDEN, options)
    assert layer.select_kernel("cuda") == path
    if path == "fused:cudnn":
        assert layer.rnn.use_cudnn is True  # Keras raises rather than silently fall back


@pytest.mark.parametrize("options", [
    {"dropout": 1.0}, {"dropout": -0.1}, {"recurrent_dropout": "half"}, {"zoneout": 0.1},
])
def test_bad_options_are_usage_errors(keras_cell, options):
    with pytest.raises(UsageError):
        keras_cell("lstm").factory(INPUT, HIDDEN, options)


@pytest.mark.parametrize("name", CELL_NAMES)
def test_dropout_only_in_training(name, keras_cell, canonical_weights, data):
    inputs, _ = data
    weights = canonical_weights(name, INPUT, HIDDEN)
    layer = keras_cell(name).factory(INPUT, HIDDEN, {"dropout": 0.5, "recurrent_dropout": 0.5})
    layer.load_canonical(weights)
    layer.select_kernel("cpu")
    inference = np.asarray(layer(inputs, training=False)[0])
    np.testing.assert_allclose(inference, _reference(name, inputs, weights)[0], atol=1e-5)
    first, second = (np.asarray(layer(inputs, training=True)[0]) for _ in range(2))
    assert not np.allclose(first, inference) and not np.allclose(first, second)


@pytest.mark.parametrize("options", [{"recurrent_dropout": 0.5},
                                     {"dropout": 0.5, "recurrent_dropout": 0.5}])
@pytest.mark.parametrize("name", CELL_NAMES)
def test_dropout_is_one_mask_per_sequence_for_every_gate(name, options, keras_cell,
                                                          canonical_weights):
    """With one input and one unit a mask is 0 or 2 (rate 0.5): a training pass must equal
    the reference equations with the input weights times one mask and the recurrent ones
    times another, the same for every gate (Keras's own LSTM and GRU draw one per gate when
    there is recurrent dropout, which no pair of shared masks reproduces)."""
    weights = canonical_weights(name, 1, 1)
    layer = keras_cell(name).factory(1, 1, options)
    layer.load_canonical(weights)
    layer.select_kernel("cpu")
    x = np.random.default_rng(3).normal(size=(1, 12, 1)).astype(np.float32)
    scales = (0.0, 2.0) if options.get("dropout") else (1.0,)
    for _ in range(4):
        trained = np.asarray(layer(x, training=True)[0])
        errors = [np.abs(_reference(name, x, {**weights, "W": weights["W"] * kept_input,
                                             "U": weights["U"] * kept_state})[0]
                         - trained).max()
                  for kept_input in scales for kept_state in (0.0, 2.0)]
        assert min(errors) < 1e-5


@pytest.mark.parametrize("shape", [(0, 5, INPUT), (2, 0, INPUT)], ids=["no-sequence", "no-step"])
@pytest.mark.parametrize("name", CELL_NAMES)
def test_an_empty_batch_is_refused_in_one_clear_error(name, shape, keras_cell):
    layer = keras_cell(name).factory(INPUT, HIDDEN, {})
    with pytest.raises(ValueError, match=rf"cell {name} needs at least one sequence of at least "
                                         rf"one step, not inputs of shape \[{shape[0]}, "):
        layer(np.zeros(shape, np.float32))


@pytest.mark.parametrize("name", CELL_NAMES)
def test_input_without_a_time_axis_gets_keras_rank_error(name, keras_cell):
    """lnrnn's keras.layers.RNN checked no rank and failed in a TensorFlow StridedSlice."""
    layer = keras_cell(name).factory(INPUT, HIDDEN, {})
    with pytest.raises(ValueError, match=rf"layer '{name}' is incompatible with the layer: "
                                         r"expected ndim=3, found ndim=2"):
        layer(np.zeros((BATCH, INPUT), np.float32))


def test_a_probe_refuses_dropout(probe, keras_cell, canonical_weights, data):
    with pytest.raises(UsageError, match="dropout"):
        probe(keras_cell("rnn"), canonical_weights("rnn", INPUT, HIDDEN), *data,
              {"dropout": 0.1})
