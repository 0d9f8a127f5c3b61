"""The long-memory cells of ``bench_longmem`` in the Keras backend: the conformance kit
(reference equations, forward and gradients), parity with the PyTorch versions, the matrix
exponential Keras lacks, and learning at a tiny size."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("torch")

import bench_longmem.plugin  # noqa: E402
from bench_longmem import keras_cells  # noqa: E402
from harness import longmem_reference  # noqa: E402
from harness.canonical import probe_weights  # noqa: E402
from harness.conformance import conformance_tests  # noqa: E402
from harness.parity import check_parity  # noqa: E402
from tests.helpers import make_host  # noqa: E402
from tests.longmem.tiny_runs import loss_ratio_after_tiny_run  # noqa: E402

CELLS = ("indrnn", "exprnn", "mingru", "minlstm", "lru")


def keras_host():
    return make_host("tasks", "keras", longmem_keras=bench_longmem.plugin.keras_cells)


test_keras_longmem_conformance = conformance_tests(*(f"keras:{name}" for name in CELLS),
                                                   host=keras_host())


def test_every_cell_agrees_between_torch_and_keras():
    host = make_host("tasks", "torch", "keras", longmem_torch=bench_longmem.plugin.torch_cells,
                     longmem_keras=bench_longmem.plugin.keras_cells)

    results = check_parity(host.registry, list(CELLS))

    assert [r.cell for r in results] == list(CELLS)
    assert [(r.cell, d.quantity) for r in results for d in r.differences if not d.ok] == []


@pytest.mark.parametrize("name", CELLS)
def test_input_without_a_time_axis_gets_keras_rank_error(name):
    """The same error as bench's standard Keras cells, not numpy's 'axis 2 is out of
    bounds' from inside the sequence layer."""
    layer = keras_host().registry.cells[("keras", name)].factory(3, 4, {})
    with pytest.raises(ValueError, match=rf"layer '{name}' is incompatible with the layer: "
                                         r"expected ndim=3, found ndim=2"):
        layer(np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("scale", [0.1, 3.0, 40.0])
def test_the_keras_matrix_exponential_matches_scipy(scale):
    from scipy.linalg import expm

    skew = np.random.default_rng(0).normal(size=28) * scale
    matrix = longmem_reference.skew_symmetric(skew, 8)

    computed = keras.ops.convert_to_numpy(keras_cells.expm(
        keras.ops.convert_to_tensor(matrix.astype(np.float32))))

    np.testing.assert_allclose(computed, expm(matrix), atol=2e-5)


@pytest.mark.parametrize(("name", "task", "steps"), [
    ("indrnn", "adding", 60), ("mingru", "adding", 60), ("lru", "copy", 150),
])
def test_keras_cells_learn_below_the_baseline_at_a_tiny_size(name, task, steps):
    assert loss_ratio_after_tiny_run(keras_host().registry, f"keras:{name}", task, steps) < 0.9


@pytest.mark.parametrize("name", ("mingru", "minlstm", "lru"))
def test_the_keras_parallel_scan_equals_its_step_loop(name):
    """The kit runs the step loop (what the CPU gets); the scan, what other devices get, is
    held to it here at 40 steps, outputs and gradients."""
    from bench_keras.framework import value_and_grad

    cell = keras_host().registry.cells[("keras", name)]
    weights = probe_weights(cell.initializer, 3, 8, np.random.default_rng(0))
    x = keras.ops.convert_to_tensor(
        np.random.default_rng(1).normal(size=(4, 40, 3)).astype(np.float32))
    results = {}
    for device in ("cpu", "gpu"):
        layer = cell.factory(3, 8, {})
        layer.load_canonical(weights)
        path = layer.select_kernel(device)
        variables = list(layer.keras_variables().values())

        def loss(layer=layer):
            outputs = layer(x)[0]
            return keras.ops.sum(outputs * outputs), outputs

        _, outputs, grads, _ = value_and_grad(loss, variables)
        results[path] = [keras.ops.convert_to_numpy(v) for v in (outputs, *grads)]

    assert set(results) == {"loop", "scan"}
    for loop, scan in zip(results["loop"], results["scan"], strict=True):
        np.testing.assert_allclose(scan, loop, rtol=1e-4, atol=1e-4 * np.abs(loop).max())
