"""The task losses in ``keras.ops`` (docs/architecture.md §4), as the torch backend computes
them."""

from __future__ import annotations

from collections.abc import Callable

from bench_keras.quiet_import import keras

from harness.tasks import IGNORE_TARGET, LossKind


def xent(targets, logits):
    """Sparse categorical cross-entropy from logits, averaged over the steps whose target
    is not :data:`harness.tasks.IGNORE_TARGET`."""
    keep = keras.ops.not_equal(targets, IGNORE_TARGET)
    per_step = keras.ops.sparse_categorical_crossentropy(
        keras.ops.where(keep, targets, 0), logits, from_logits=True
    )
    weight = keras.ops.cast(keep, per_step.dtype)
    return keras.ops.sum(per_step * weight) / keras.ops.maximum(keras.ops.sum(weight), 1.0)


def mse(targets, outputs):
    return keras.ops.mean(keras.ops.square(outputs - keras.ops.cast(targets, outputs.dtype)))


LOSSES: dict[LossKind, Callable] = {"xent": xent, "mse": mse}
