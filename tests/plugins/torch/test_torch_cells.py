"""The torch cells against the numpy reference equations, and their two execution paths."""

from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench_torch.cells import CELLS  # noqa: E402
from harness.catalogue import STANDARD_CELLS  # noqa: E402
from harness.errors import UsageError  # noqa: E402

INPUT, HIDDEN, BATCH, TIME = 3, 5, 4, 9
FUSED_PATHS = {"rnn": "fused:nn.RNN", "lstm": "fused:nn.LSTM", "gru": "fused:nn.GRU"}


def build(name: str, weights, input_size: int = INPUT, **options):
    cell = CELLS[name](input_size, weights["U"].shape[0], options)
    cell.load_canonical(weights)
    return cell


def inputs(seed: int = 1, shape=(BATCH, TIME, INPUT)) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def as_tuple(state) -> tuple:
    return state if isinstance(state, tuple) else (state,)


@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.5], ids=["fused", "loop"])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_forward_matches_reference(name, recurrent_dropout, canonical_weights):
    weights = canonical_weights(name, INPUT, HIDDEN)
    cell = build(name, weights, recurrent_dropout=recurrent_dropout).eval()
    fused = name in FUSED_PATHS and not recurrent_dropout
    assert cell.kernel_path == (FUSED_PATHS[name] if fused else "loop")
    x = inputs()

    outputs, state = cell(torch.from_numpy(x))

    reference = {key: value.astype(np.float64) for key, value in weights.items()}
    equations = STANDARD_CELLS[name].reference
    expected_outputs, expected_state = equations(x.astype(np.float64), reference)
    np.testing.assert_allclose(outputs.detach().numpy(), expected_outputs, atol=1e-5)
    for got, expected in zip(as_tuple(state), as_tuple(expected_state), strict=True):
        np.testing.assert_allclose(got.detach().numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_canonical_weights_round_trip_exactly(name, canonical_weights):
    weights = canonical_weights(name, INPUT, HIDDEN)
    cell = build(name, weights)

    exported = cell.export_canonical()

    assert exported.keys() == weights.keys()
    for key, value in weights.items():
        assert exported[key].dtype == np.float32
        np.testing.assert_array_equal(exported[key], value)
    exported["U"][:] = 0.0  # a copy, not a view of the parameters
    np.testing.assert_array_equal(cell.export_canonical()["U"], weights["U"])


def test_load_canonical_names_a_layout_mismatch(canonical_weights):
    weights = canonical_weights("gru", INPUT, HIDDEN)
    cell = CELLS["gru"](INPUT, HIDDEN, {})
    expected = "['U', 'W', 'b', 'b_rec'], got ['U', 'W', 'b']"
    with pytest.raises(ValueError, match=re.escape(expected)):
        cell.load_canonical({k: v for k, v in weights.items() if k != "b_rec"})
    with pytest.raises(ValueError, match=re.escape("'W' has shape (5, 15), expected (3, 15)")):
        cell.load_canonical({**weights, "W": np.zeros((5, 15), np.float32)})


@pytest.mark.parametrize("name", sorted(FUSED_PATHS))
def test_loop_and_fused_paths_agree_in_outputs_and_gradients(name, canonical_weights):
    weights = canonical_weights(name, INPUT, HIDDEN)
    x = inputs()
    probe = np.random.default_rng(2).normal(size=(BATCH, TIME, HIDDEN)).astype(np.float32)
    results = []
    for recurrent_dropout in (0.0, 0.3):
        cell = build(name, weights, recurrent_dropout=recurrent_dropout).eval()
        x_in = torch.tensor(x, requires_grad=True)
        outputs, _ = cell(x_in)
        (outputs * torch.from_numpy(probe)).sum().backward()
        grads = {n: p.grad for n, p in cell.named_parameters()}
        results.append((cell.kernel_path, outputs.detach(), x_in.grad, grads))

    (fused_path, fused_out, fused_dx, fused_grads), (loop_path, loop_out, loop_dx, loop_grads) = (
        results
    )
    assert (fused_path, loop_path) == (FUSED_PATHS[name], "loop")
    torch.testing.assert_close(loop_out, fused_out, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(loop_dx, fused_dx, atol=1e-5, rtol=1e-5)
    assert loop_grads.keys() == fused_grads.keys()
    for key, fused_grad in fused_grads.items():
        if fused_grad is None:  # the frozen recurrent bias of rnn and lstm
            assert loop_grads[key] is None and key == "rnn.bias_hh_l0" and name != "gru"
        else:
            torch.testing.assert_close(loop_grads[key], fused_grad, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.5], ids=["fused", "loop"])
def test_input_dropout_mask_is_shared_over_time(recurrent_dropout):
    # h_t = tanh(mask * x_t) with x = 1: constant over time, 0 where an input is dropped.
    width, rate = 8, 0.5
    weights = {
        "W": np.eye(width, dtype=np.float32),
        "U": np.zeros((width, width), np.float32),
        "b": np.zeros(width, np.float32),
    }
    cell = build("rnn", weights, input_size=width, dropout=rate,
                 recurrent_dropout=recurrent_dropout).train()
    torch.manual_seed(0)

    outputs = cell(torch.ones(16, 6, width))[0].detach().numpy()

    np.testing.assert_array_equal(outputs, np.broadcast_to(outputs[:, :1], outputs.shape))
    kept = outputs[:, 0] != 0
    assert 0.25 < kept.mean() < 0.75
    np.testing.assert_allclose(outputs[:, 0][kept], np.tanh(1 / (1 - rate)), rtol=1e-6)


def test_recurrent_dropout_mask_is_shared_over_time():
    # h_t = tanh(b + mask * h_{t-1}): a unit whose state is dropped stays at tanh(b).
    width, bias = 8, 0.5
    weights = {
        "W": np.zeros((width, width), np.float32),
        "U": np.eye(width, dtype=np.float32),
        "b": np.full(width, bias, np.float32),
    }
    cell = build("rnn", weights, input_size=width, recurrent_dropout=0.5).train()
    torch.manual_seed(0)

    outputs = cell(torch.zeros(16, 6, width))[0].detach().numpy()

    dropped = np.isclose(outputs[:, 1:], np.tanh(bias))
    np.testing.assert_array_equal(dropped, np.broadcast_to(dropped[:, :1], dropped.shape))
    assert 0.25 < dropped[:, 0].mean() < 0.75


@pytest.mark.parametrize("option", ["dropout", "recurrent_dropout"])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_dropout_acts_in_training_only(name, option, canonical_weights):
    weights = canonical_weights(name, INPUT, HIDDEN)
    plain, dropped = build(name, weights), build(name, weights, **{option: 0.5})
    x = torch.from_numpy(inputs())
    torch.manual_seed(0)

    assert not torch.allclose(dropped.train()(x)[0], plain.train()(x)[0])
    torch.testing.assert_close(dropped.eval()(x)[0], plain.eval()(x)[0], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dropout": 1.0}, "dropout must be a number in [0, 1), got 1.0"),
        ({"recurrent_dropout": -0.1}, "recurrent_dropout must be a number in [0, 1), got -0.1"),
        ({"dropout": "0.1"}, "dropout must be a number in [0, 1), got '0.1'"),
        ({"dropout": True}, "dropout must be a number in [0, 1), got True"),
        ({"dropuot": 0.1}, "unknown cell option 'dropuot'; did you mean 'dropout'? "
                           "(available: dropout, recurrent_dropout)"),
    ],
)
def test_bad_options_raise_usage_error(options, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        CELLS["lstm"](INPUT, HIDDEN, options)
