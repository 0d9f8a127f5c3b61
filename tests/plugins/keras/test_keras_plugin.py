"""The Keras plugin module: registration without importing frameworks, availability."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from importlib.metadata import version

import pytest

from bench_keras import installation, plugin
from harness.catalogue import STANDARD_CELLS
from harness.registry import Backend, Cell


def _registered() -> tuple[list[Backend], list[Cell]]:
    backends: list[Backend] = []
    cells: list[Cell] = []
    plugin.bench_register_backends(register=backends.append)
    plugin.bench_register_cells(register=cells.append)
    return backends, cells


def test_loading_and_registering_imports_no_framework():
    script = textwrap.dedent("""
        import sys
        import bench_keras.plugin
        from harness.plugins import PluginHost
        host = PluginHost(discover=False)
        host.register(bench_keras.plugin, "keras")
        registry = host.registry
        assert registry.backends["keras"].available, registry.backends["keras"].reason
        heavy = {"keras", "tensorflow", "torch", "jax"} & set(sys.modules)
        assert not heavy, heavy
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr


def test_registers_the_backend_with_versions(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    (backend,), _ = _registered()
    assert (backend.name, backend.framework, backend.available) == ("keras", "Keras", True)
    assert re.fullmatch(rf"{re.escape(version('keras'))} \(tensorflow \d+\.\d+\S*\)",
                        backend.version)
    assert backend.probe_cell is not None and backend.describe_device is not None


def test_registers_the_standard_cells():
    _, cells = _registered()
    assert {c.name: c.initializer for c in cells} == {
        name: c.initializer for name, c in STANDARD_CELLS.items()}
    assert {c.name for c in cells if c.fused} == {"lstm", "gru"}
    assert all(c.backend == "keras" and c.description for c in cells)


@pytest.mark.parametrize(("backend", "missing", "reason"), [
    ("tensorflow", "keras", "Keras is not installed: pip install 'bench-harness[keras]'"),
    ("tensorflow", "tensorflow",
     "TensorFlow is not installed (KERAS_BACKEND=tensorflow): pip install 'bench-harness[keras]'"),
    ("torch", "torch",
     "PyTorch is not installed (KERAS_BACKEND=torch): pip install 'bench-harness[torch]'"),
    ("jax", "jax",
     "JAX is not installed (KERAS_BACKEND=jax): pip install 'bench-harness[keras-jax]'"),
    ("openvino", None,
     "KERAS_BACKEND=openvino is not supported by bench (supported: tensorflow, torch, jax)"),
])
def test_unavailable_with_the_reason_and_fix(monkeypatch, backend, missing, reason):
    real_find_spec = installation.find_spec
    monkeypatch.setenv("KERAS_BACKEND", backend)
    monkeypatch.setattr(installation, "find_spec",
                        lambda name: None if name == missing else real_find_spec(name))
    (registered,), _ = _registered()
    assert (registered.available, registered.reason) == (False, reason)


def test_the_configured_backend_is_read_as_keras_reads_it(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert installation.configured_backend() == "tensorflow"
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch"}))
    assert installation.configured_backend() == "torch"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert installation.configured_backend() == "jax"


def test_lists_the_cpu_and_names_it():
    pytest.importorskip("tensorflow")
    devices = plugin.list_devices()
    assert devices[-1] == "cpu" and set(devices) <= {"cuda", "cpu"}
    assert plugin.describe_device("cpu") == "cpu"
