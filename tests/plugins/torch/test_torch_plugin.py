"""The plugin module: what it registers, without importing torch, and the cell probe."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import bench_torch.plugin
from harness.catalogue import STANDARD_CELLS
from harness.errors import UsageError
from harness.registry import STANDARD_OPTIONS
from tests.helpers import make_host

NO_TORCH_IMPORT = """
import sys
from tests.helpers import make_host
host = make_host("torch")
registry = host.registry
assert not host.load_errors(), host.load_errors()
assert len(registry.cells) == 4, registry.cells
assert "torch" not in sys.modules, "registering the torch backend imported torch"
"""


def test_registering_does_not_import_torch():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", NO_TORCH_IMPORT], check=True, env=env, timeout=60)


def test_registers_backend_and_cells():
    torch = pytest.importorskip("torch")
    host = make_host("torch")
    registry = host.registry

    assert host.load_errors() == {}
    backend = registry.backends["torch"]
    assert (backend.framework, backend.available, backend.reason) == ("PyTorch", True, "")
    assert backend.version == torch.__version__
    assert backend.list_devices() == (["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"])
    assert backend.describe_device("cpu") == "cpu"
    cells = {name: cell for (b, name), cell in registry.cells.items() if b == "torch"}
    assert sorted(cells) == ["gru", "lnrnn", "lstm", "rnn"]
    for name, cell in cells.items():
        assert cell.fused == (name != "lnrnn")
        assert cell.initializer is STANDARD_CELLS[name].initializer
        assert cell.options == STANDARD_OPTIONS
        assert cell.description
        module = pickle.loads(pickle.dumps(cell.factory))(3, 4, {})
        assert module.kernel_path == ("loop" if name == "lnrnn" else f"fused:nn.{name.upper()}")


def test_backend_is_unavailable_with_the_fix_when_torch_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # find_spec("torch") now answers None
    backend = make_host("torch").registry.backends["torch"]
    assert not backend.available
    assert backend.reason == "PyTorch is not installed: pip install 'bench-harness[torch]'"


@pytest.mark.parametrize("name", sorted(STANDARD_CELLS))
def test_probe_gradients_match_finite_differences_of_the_reference(name, canonical_weights):
    pytest.importorskip("torch")
    cell = make_host("torch").registry.cells[("torch", name)]
    rng = np.random.default_rng(5)
    weights = canonical_weights(name, 3, 4)
    x = rng.normal(size=(2, 6, 3)).astype(np.float32)
    cotangent = rng.normal(size=(2, 6, 4)).astype(np.float32)

    probe = bench_torch.plugin.probe_cell(cell, weights, x, cotangent, {})

    reference = {key: value.astype(np.float64) for key, value in weights.items()}
    equations = STANDARD_CELLS[name].reference

    def loss(inputs, **replaced) -> float:
        return float((equations(inputs, {**reference, **replaced})[0] * cotangent).sum())

    np.testing.assert_allclose(probe.outputs, equations(x, reference)[0], atol=1e-5)
    assert len(probe.final_state) == (2 if name == "lstm" else 1)
    eps = 1e-4
    direction = rng.normal(size=x.shape)
    slope = (loss(x + eps * direction) - loss(x - eps * direction)) / (2 * eps)
    assert (probe.input_grad * direction).sum() == pytest.approx(slope, rel=1e-4)
    assert probe.weight_grads.keys() == weights.keys()
    for key, value in reference.items():
        direction = rng.normal(size=value.shape)
        slope = (loss(x, **{key: value + eps * direction})
                 - loss(x, **{key: value - eps * direction})) / (2 * eps)
        assert (probe.weight_grads[key] * direction).sum() == pytest.approx(slope, rel=1e-4), key


def test_probe_refuses_dropout():
    pytest.importorskip("torch")
    cell = make_host("torch").registry.cells[("torch", "lstm")]
    weights = STANDARD_CELLS["lstm"].initializer(3, 4, np.random.default_rng(0))
    x, cotangent = np.zeros((1, 2, 3), np.float32), np.zeros((1, 2, 4), np.float32)
    with pytest.raises(UsageError, match="recurrent_dropout must be 0"):
        bench_torch.plugin.probe_cell(cell, weights, x, cotangent, {"recurrent_dropout": 0.1})
