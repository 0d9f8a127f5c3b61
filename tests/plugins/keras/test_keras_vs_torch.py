"""Weights move between backends: from one configuration, the Keras and the torch trainer
start from the same canonical weights and evaluate the same batch to the same loss (and the
same input gradient, which the gradient-vs-lag profile reads)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("keras")
pytest.importorskip("torch")

from harness.catalogue import STANDARD_CELLS  # noqa: E402
from tests.helpers import make_host  # noqa: E402


@pytest.fixture(scope="module")
def both():
    return make_host("torch", "keras").registry


@pytest.mark.parametrize("readout", ["every_step", "last_step"])
@pytest.mark.parametrize("name", STANDARD_CELLS)
def test_step_zero_evaluation_agrees_across_backends(both, make_config, name, readout):
    rng = np.random.default_rng(4)
    inputs = rng.normal(size=(6, 7, 4)).astype(np.float32)
    if readout == "every_step":
        config = make_config(name, readout=readout, loss="xent")
        targets = rng.integers(0, 4, size=(6, 7))
    else:
        config = make_config(name, output_size=1, readout=readout, loss="mse")
        targets = rng.normal(size=(6, 1)).astype(np.float32)
    assert both.cells[("keras", name)].initializer is both.cells[("torch", name)].initializer
    results = {}
    for backend in ("keras", "torch"):
        cell = both.cells[(backend, name)]
        trainer = both.backends[backend].build_trainer(
            dataclasses.replace(config, cell_factory=cell.factory))
        results[backend] = (*trainer.evaluate(inputs, targets),
                            trainer.input_gradient(inputs, targets))

    (keras_loss, keras_out, keras_grad), (torch_loss, torch_out, torch_grad) = results.values()
    assert keras_loss == pytest.approx(torch_loss, abs=1e-5, rel=1e-5)
    np.testing.assert_allclose(keras_out, torch_out, atol=1e-5)
    np.testing.assert_allclose(keras_grad, torch_grad, atol=1e-6, rtol=1e-4)
