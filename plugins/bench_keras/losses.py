"""The task losses in ``keras.ops`` (docs/architecture.md §4), as the torch backend computes
them."""

from __future__ import annotations

from collections.abc import Callable

from keras import ops

from harness.tasks import IGNORE_TARGET, LossKind


def xent(targets, logits):
    """Sparse categorical cross-entropy from logits, averaged over the steps whose target
    is not :data:`harness.tasks.IGNORE_TARGET`."""
    keep = ops.not_equal(targets, IGNORE_TARGET)
    per_step = ops.sparse_categorical_crossentropy(
        ops.where(keep, targets, 0), logits, from_logits=True
    )
    weight = ops.cast(keep, per_step.dtype)
    return ops.sum(per_step * weight) / ops.maximum(ops.sum(weight), 1.0)


def mse(targets, outputs):
    return ops.mean(ops.square(outputs - ops.cast(targets, outputs.dtype)))


LOSSES: dict[LossKind, Callable] = {"xent": xent, "mse": mse}
