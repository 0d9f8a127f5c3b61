"""Thread pools of the framework under Keras, set by bench's thread policy (harness.threads).

Each framework takes its counts at a different moment: TensorFlow before it initialises
(its first op), XLA (JAX) only from ``XLA_FLAGS`` before it is imported and then only one
thread or all, PyTorch any time for intra-op threads. Where it is too late, a process keeps
what it started with.
"""

from __future__ import annotations

import os
import sys

from bench_keras.installation import configured_backend


def set_threads(count: int) -> int:
    """Returns the intra-op thread count in effect."""
    backend = configured_backend()
    if backend == "jax":
        return _xla_threads(count)
    if backend == "torch":
        import torch

        torch.set_num_threads(count)
        return torch.get_num_threads()
    return _tensorflow_threads(count)


def _tensorflow_threads(count: int) -> int:
    import bench_keras.quiet_import  # noqa: F401  imports TensorFlow without its start-up notices

    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(count)
        tf.config.threading.set_inter_op_parallelism_threads(count)
    except RuntimeError:  # TensorFlow has initialised: the first run's counts hold
        pass
    return tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count() or 1


_ONE_XLA_THREAD = "--xla_cpu_multi_thread_eigen=false"
"""XLA's only safe thread setting: one thread or its default (every core). Its
``intra_op_parallelism_threads`` flag crashes some jaxlib builds (jax-ml/jax#1539)."""


def _xla_threads(count: int) -> int:
    flags = os.environ.get("XLA_FLAGS", "")
    if count == 1 and "jax" not in sys.modules and _ONE_XLA_THREAD not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {_ONE_XLA_THREAD}".strip()
    return 1 if _ONE_XLA_THREAD in os.environ.get("XLA_FLAGS", "") else os.cpu_count() or 1
