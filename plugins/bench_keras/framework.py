"""What differs between the Keras backends bench runs on: gradients, compilation, devices.

Everything else in this package is written with ``keras.ops`` and runs on any Keras backend;
these functions branch on ``keras.backend.backend()`` (TensorFlow, PyTorch or JAX, see
:data:`bench_keras.installation.SUPPORTED`) and import that framework lazily.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bench_keras.quiet_import import keras

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


@contextmanager
def float32_layers() -> Iterator[None]:
    """Layers built inside compute in float32 whatever global dtype policy the program set
    (under ``mixed_float16`` the trainer built float16 layers and trained them without loss
    scaling, its records saying float32; under ``mixed_bfloat16`` it failed)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def value_and_grad(
    fn: Callable[..., tuple[Any, Any]],
    variables: Sequence[keras.Variable],
    inputs: Sequence[Any] = (),
    state: Sequence[keras.Variable] = (),
) -> tuple[Any, Any, list[Any], list[Any]]:
    """Run ``fn(*inputs) -> (scalar, aux)`` and differentiate the scalar.

    Returns ``(scalar, aux, gradients w.r.t. variables, gradients w.r.t. inputs)``;
    ``inputs`` are backend tensors created by the caller. ``state`` lists the other
    variables ``fn`` may update (the dropout seed generators): JAX differentiates a pure
    function, so their new values are carried out of it and assigned afterwards.
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(list(inputs))
            value, aux = fn(*inputs)
        grads = tape.gradient(value, [*variables, *inputs])
    elif BACKEND == "torch":
        import torch

        for tensor in inputs:
            tensor.requires_grad_(True)
        value, aux = fn(*inputs)
        grads = list(torch.autograd.grad(value, [v.value for v in variables] + list(inputs)))
    elif BACKEND == "jax":
        return _jax_value_and_grad(fn, variables, inputs, state)
    else:
        raise BackendUnavailableError(f"bench cannot differentiate on Keras backend {BACKEND}")
    return value, aux, grads[: len(variables)], grads[len(variables) :]


def _jax_value_and_grad(fn, variables, inputs, state):
    import jax

    def pure(variable_values, input_values, state_values):
        mapping = [*zip(variables, variable_values, strict=True),
                   *zip(state, state_values, strict=True)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            value, aux = fn(*input_values)
            new_state = [scope.get_current_value(v) for v in state]
        return value, (aux, new_state)

    (value, (aux, new_state)), (variable_grads, input_grads) = jax.value_and_grad(
        pure, argnums=(0, 1), has_aux=True
    )([v.value for v in variables], list(inputs), [v.value for v in state])
    for variable, new_value in zip(state, new_state, strict=True):
        variable.assign(new_value)
    return value, aux, list(variable_grads), list(input_grads)


def _not_a_retracing_warning(record: logging.LogRecord) -> bool:
    """TensorFlow warns when several calls of one function's ``tf.function`` traced anew
    ("5 out of the last 5 calls to <bound method KerasTrainer._inference ...> triggered
    tf.function retracing"), a mistake in a program that runs one model. Each run of bench
    builds a model and compiles its own step, so a sweep in one process traces every one of
    them, as it must: the ~700-character warning says nothing about the runs."""
    return "triggered tf.function retracing" not in record.getMessage()


def compile_step(fn: Callable, variables: Sequence[keras.Variable] = ()) -> Callable:
    """``fn`` as one compiled graph where the backend has one.

    TensorFlow: ``tf.function``. JAX: ``jax.jit`` of ``fn`` made pure, which needs
    ``variables``, every variable ``fn`` reads or updates: their values go in, their new
    values come out and are assigned after the call. PyTorch runs ``fn`` eagerly.
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        tensorflow_log = logging.getLogger("tensorflow")
        if _not_a_retracing_warning not in tensorflow_log.filters:
            tensorflow_log.addFilter(_not_a_retracing_warning)
        return tf.function(fn, reduce_retracing=True)
    if BACKEND == "jax":
        return _jax_jit(fn, list(variables))
    return fn


def _jax_jit(fn: Callable, variables: list[keras.Variable]) -> Callable:
    import jax

    def pure(values, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))) \
                as scope:
            out = fn(*args)
            return out, [scope.get_current_value(v) for v in variables]

    compiled = jax.jit(pure)

    def call(*args):
        out, values = compiled([v.value for v in variables], *args)
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
        return out

    return call


def run_if(condition: Any, fn: Callable[[], None],
           variables: Sequence[keras.Variable] = ()) -> None:
    """``fn()`` when the scalar ``condition`` holds: a graph conditional inside
    ``tf.function``; under ``jax.jit``, ``fn`` runs and ``variables`` (all it updates) keep
    their old values where the condition fails; a plain ``if`` when eager."""
    if BACKEND == "tensorflow":
        keras.ops.cond(condition, fn, lambda: None)
    elif BACKEND == "jax" and _traced(condition):
        before = [v.value for v in variables]
        fn()
        for variable, old in zip(variables, before, strict=True):
            variable.assign(keras.ops.where(condition, variable.value, old))
    elif bool(keras.ops.convert_to_numpy(condition)):
        fn()


def _traced(value: Any) -> bool:
    import jax

    return isinstance(value, jax.core.Tracer)


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
    if BACKEND == "jax":
        import jax

        return jax.devices("gpu")[0].device_kind
    import torch

    return torch.cuda.get_device_name(0)


def cudnn_available(device: str) -> bool:
    """Whether Keras's LSTM/GRU take their cuDNN kernel on ``device``: the test each Keras
    backend makes before trying it (the layer options are checked by the cell). Keras's
    JAX backend has no cuDNN path."""
    if device != "cuda" or BACKEND == "jax" or not _gpu_visible():
        return False
    if BACKEND == "torch":
        import torch

        return torch.backends.cudnn.is_available()
    return True


def reset_peak_device_memory(device: str) -> None:
    if device != "cuda" or BACKEND == "jax":  # JAX's peak cannot be reset: read it as is
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
    if BACKEND == "jax":
        import jax

        stats = jax.devices("gpu")[0].memory_stats() or {}
        return stats.get("peak_bytes_in_use")
    import torch

    return int(torch.cuda.max_memory_allocated())


def _gpu_visible() -> bool:
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    if BACKEND == "torch":
        import torch

        return torch.cuda.is_available()
    if BACKEND == "jax":
        import jax

        try:
            return bool(jax.devices("gpu"))
        except RuntimeError:  # no GPU backend in this jaxlib
            return False
    return False
