"""What is installed for Keras, found without importing Keras or any framework.

Keras 3 runs on a backend framework chosen by ``KERAS_BACKEND`` (or ``keras.json``,
default TensorFlow); the bench backend is available when Keras and that framework are both
importable and bench can train on it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

INSTALL_HINT = "pip install 'bench-harness[keras]'"


@dataclass(frozen=True)
class Framework:
    """A Keras backend framework bench can train on."""

    module: str
    display: str
    distributions: tuple[str, ...]
    """Distributions that provide ``module``, tried in order for its version."""
    install: str


SUPPORTED = {
    "tensorflow": Framework("tensorflow", "TensorFlow",
                            ("tensorflow", "tensorflow-cpu", "tf-nightly"), INSTALL_HINT),
    "torch": Framework("torch", "PyTorch", ("torch",), "pip install 'bench-harness[torch]'"),
    "jax": Framework("jax", "JAX", ("jax",), "pip install 'bench-harness[keras-jax]'"),
}
"""Keras's other backends (openvino, numpy) cannot differentiate: the backend reports
itself unavailable on them."""


def configured_backend() -> str:
    """The backend Keras will use, decided as Keras decides it."""
    if "KERAS_BACKEND" in os.environ:
        return os.environ["KERAS_BACKEND"]
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return json.loads((home / "keras.json").read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def availability() -> tuple[bool, str]:
    """Whether Keras can run here on its configured backend, and if not, why."""
    if find_spec("keras") is None:
        return False, f"Keras is not installed: {INSTALL_HINT}"
    backend = configured_backend()
    framework = SUPPORTED.get(backend)
    if framework is None:
        return False, (f"KERAS_BACKEND={backend} is not supported by bench "
                       f"(supported: {', '.join(SUPPORTED)})")
    if find_spec(framework.module) is None:
        return False, (f"{framework.display} is not installed (KERAS_BACKEND={backend}): "
                       f"{framework.install}")
    return True, ""


def describe_version() -> str | None:
    """Keras's version and its backend's, e.g. ``3.15.1 (tensorflow 2.21.0)``."""
    keras_version = _version(("keras",))
    if keras_version is None:
        return None
    backend = configured_backend()
    framework = SUPPORTED.get(backend)
    backend_version = _version(framework.distributions if framework else (backend,))
    return f"{keras_version} ({' '.join(filter(None, (backend, backend_version)))})"


def _version(distributions: tuple[str, ...]) -> str | None:
    for name in distributions:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return None
