"""What differs between the Keras backends bench runs on: gradients, compilation, devices.

Everything else in this package is written with ``keras.ops`` and runs on any Keras backend;
these functions branch on ``keras.backend.backend()`` (TensorFlow or PyTorch, see
:data:`bench_keras.installation.SUPPORTED`) and import that framework lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras

from harness.errors import BackendUnavailableError

BACKEND = keras.backend.backend()


def _grow_gpu_memory() -> None:
    """Let TensorFlow take GPU memory as it needs it rather than all of it at first use, so
    that torch runs later in the same process still find memory. Only possible before
    TensorFlow initialises its GPUs; whoever did that first has already decided."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            return


if BACKEND == "tensorflow":
    _grow_gpu_memory()

KERAS_DEVICE = {"cpu": "cpu", "cuda": "gpu"}
"""bench's device names -> Keras's. Unnumbered on purpose: Keras's torch backend moves a
variable created under ``cpu:0`` off its default ``cpu`` and then fails to track it."""


def value_and_grad(
    fn: Callable[[], tuple[Any, Any]],
    variables: Sequence[keras.Variable],
    inputs: Sequence[Any] = (),
) -> tuple[Any, Any, list[Any], list[Any]]:
    """Run ``fn() -> (scalar, aux)`` and differentiate the scalar.

    Returns ``(scalar, aux, gradients w.r.t. variables, gradients w.r.t. inputs)``;
    ``inputs`` are backend tensors created by the caller.
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(list(inputs))
            value, aux = fn()
        grads = tape.gradient(value, [*variables, *inputs])
    elif BACKEND == "torch":
        import torch

        for tensor in inputs:
            tensor.requires_grad_(True)
        value, aux = fn()
        grads = list(torch.autograd.grad(value, [v.value for v in variables] + list(inputs)))
    else:
        raise BackendUnavailableError(f"bench cannot differentiate on Keras backend {BACKEND}")
    return value, aux, grads[: len(variables)], grads[len(variables) :]


def compile_step(fn: Callable) -> Callable:
    """``fn`` as one compiled graph where the backend has one (``tf.function``).

    The PyTorch backend runs ``fn`` eagerly: correct, if slower per step.
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True)
    return fn


def list_devices() -> list[str]:
    """Best first."""
    return ["cuda", "cpu"] if _gpu_visible() else ["cpu"]


def keras_device(device: str) -> str:
    """Keras's name of bench's ``device`` (for ``keras.device``), checked against this
    machine."""
    available = list_devices()
    if device not in available:
        raise BackendUnavailableError(
            f"device {device!r} is not available to Keras ({BACKEND}) here "
            f"(available: {', '.join(available)})"
        )
    return KERAS_DEVICE[device]


def describe_device(device: str) -> str:
    """The GPU model for ``cuda``; other devices name themselves."""
    if device != "cuda" or not _gpu_visible():
        return device
    if BACKEND == "tensorflow":
        import tensorflow as tf

        gpu = tf.config.list_physical_devices("GPU")[0]
        return tf.config.experimental.get_device_details(gpu).get("device_name", device)
    import torch

    return torch.cuda.get_device_name(0)


def cudnn_available(device: str) -> bool:
    """Whether Keras's LSTM/GRU take their cuDNN kernel on ``device``: the test each Keras
    backend makes before trying it (the layer options are checked by the cell)."""
    if device != "cuda" or not _gpu_visible():
        return False
    if BACKEND == "torch":
        import torch

        return torch.backends.cudnn.is_available()
    return True


def reset_peak_device_memory(device: str) -> None:
    if device != "cuda":
        return
    if BACKEND == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats("GPU:0")
    else:
        import torch

        torch.cuda.reset_peak_memory_stats()


def peak_device_memory(device: str) -> int | None:
    """Peak bytes the framework's allocator held since :func:`reset_peak_device_memory`."""
    if device != "cuda":
        return None
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    import torch

    return int(torch.cuda.max_memory_allocated())


def _gpu_visible() -> bool:
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    if BACKEND == "torch":
        import torch

        return torch.cuda.is_available()
    return False
