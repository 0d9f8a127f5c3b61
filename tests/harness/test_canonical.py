import numpy as np
import pytest

from harness.canonical import init_readout, orthogonal
from harness.catalogue import STANDARD_CELLS


@pytest.mark.parametrize("name", sorted(STANDARD_CELLS))
def test_standard_layout_and_initialisation(name):
    inputs, hidden = 7, 16
    weights = STANDARD_CELLS[name].initializer(inputs, hidden, np.random.default_rng(0))
    gates = STANDARD_CELLS[name].width
    assert weights["W"].shape == (inputs, gates * hidden)
    assert weights["U"].shape == (hidden, gates * hidden)
    limit = np.sqrt(6 / (inputs + gates * hidden))
    assert np.abs(weights["W"]).max() <= limit
    assert np.abs(weights["W"]).max() > 0.8 * limit  # uniform over the whole Glorot range
    # orthogonal recurrent kernel: its rows are orthonormal
    np.testing.assert_allclose(weights["U"] @ weights["U"].T, np.eye(hidden), atol=1e-5)
    expected_bias = np.zeros(gates * hidden)
    if name == "lstm":
        expected_bias[hidden:2 * hidden] = 1.0  # forget gate, second in i, f, g, o
    np.testing.assert_array_equal(weights["b"], expected_bias)
    assert all(w.dtype == np.float32 for w in weights.values())


def test_same_seed_same_weights_and_different_seed_different():
    first = STANDARD_CELLS["gru"].initializer(3, 8, np.random.default_rng(5))
    again = STANDARD_CELLS["gru"].initializer(3, 8, np.random.default_rng(5))
    other = STANDARD_CELLS["gru"].initializer(3, 8, np.random.default_rng(6))
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["W"], other["W"])
    assert set(first) == {"W", "U", "b", "b_rec"}


def test_orthogonal_square_and_readout():
    q = orthogonal(np.random.default_rng(1), 6, 6)
    np.testing.assert_allclose(q.T @ q, np.eye(6), atol=1e-5)
    readout = init_readout(16, 3, np.random.default_rng(2))
    assert readout["kernel"].shape == (16, 3) and not readout["bias"].any()
