"""The best predictor that ignores the input, measured: what ``Task.baseline_loss`` and
``Task.chance`` declare.

It is fitted on a large training sample: for ``xent`` the class frequencies at each output
position (one distribution for a last-step read-out), for ``mse`` the mean of each output.
It sees nothing of the sequence, not even the current step. A cell without memory still
sees the current input and can beat it where that input alone is informative (the last
pixel of ``digits``): the declared numbers are those of this input-free predictor.

The measured loss and headline carry a tolerance that is derived, not tuned:

* sampling: 4 standard errors of the held-out mean, estimated from the per-example losses
  (``Task.headline_scores``); a correct declaration falls outside with probability
  about 6e-5 (normal approximation);
* fitting: a predictor fitted on ``n`` examples is itself off. Plug-in frequencies of the
  ``K`` classes seen at a position lose ``(K-1) / (2n)`` nats there in expectation (the
  chi-square approximation behind AIC), averaged over the scored positions; for ``mse``
  the fitted mean adds ``variance / n``. The tolerance allows twice that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.tasks import IGNORE_TARGET, Batch, Task

STANDARD_ERRORS = 4.0
SMALLEST_PROBABILITY = 1e-12
"""Floor of a fitted probability: a class never seen in the fit costs ~28 nats, not inf."""


@dataclass(frozen=True)
class Measurement:
    examples: int
    """Training examples fitted on (the held-out set may be smaller: a data set's split)."""
    held_out: int
    loss: float
    loss_tolerance: float
    headline: float
    headline_tolerance: float


def measure(task: Task, train: Batch, held_out: Batch) -> Measurement:
    """Fit the input-free predictor on ``train`` and score it on ``held_out``."""
    if task.loss == "xent":
        outputs, losses, counted, excess = _fit_classes(task, train, held_out)
    else:
        outputs, losses, counted, excess = _fit_mean(train, held_out)
    loss = float(losses.sum() / counted.sum())
    # The loss is a ratio of sums over examples: its standard error by linearisation.
    spread = np.std(losses - loss * counted, ddof=1) if len(losses) > 1 else 0.0
    loss_se = float(spread / (counted.mean() * math.sqrt(len(losses))))
    scores = np.asarray(task.headline_scores(outputs, held_out.targets), np.float64)
    headline = float(scores.mean())
    headline_se = float(np.std(scores, ddof=1) / math.sqrt(len(scores))) if len(scores) > 1 \
        else 0.0
    return Measurement(
        examples=len(train.targets), held_out=len(held_out.targets), loss=loss,
        loss_tolerance=STANDARD_ERRORS * loss_se + 2 * excess,
        headline=headline, headline_tolerance=STANDARD_ERRORS * headline_se,
    )


def _fit_classes(task: Task, train: Batch, held_out: Batch):
    """Per-position class frequencies; per-example summed losses and counted positions."""
    fit, scored = _positions(train.targets), _positions(held_out.targets)
    k = task.output_size
    counts = np.zeros((fit.shape[1], k))
    rows, steps = np.nonzero(fit != IGNORE_TARGET)
    np.add.at(counts, (steps, fit[rows, steps]), 1)
    seen = counts.sum(axis=1, keepdims=True)
    probs = np.where(seen > 0, counts / np.maximum(seen, 1), 1.0 / k)
    log_probs = np.log(np.maximum(probs, SMALLEST_PROBABILITY))
    mask = scored != IGNORE_TARGET
    picked = np.take_along_axis(log_probs[None], np.where(mask, scored, 0)[..., None], -1)
    losses = -(picked[..., 0] * mask).sum(axis=1)
    counted = mask.sum(axis=1)
    classes = (counts > 0).sum(axis=1)  # the frequencies actually estimated, per position
    excess = float(np.mean(((classes - 1) / (2 * np.maximum(seen[:, 0], 1)))[mask.any(0)]))
    outputs = np.broadcast_to(log_probs, (len(scored), *log_probs.shape))
    if task.readout == "last_step":
        outputs = outputs[:, 0]
    return np.array(outputs, np.float32), losses, counted, excess


def _fit_mean(train: Batch, held_out: Batch):
    """The mean of each output; per-example summed squared errors and output counts."""
    mean = np.asarray(train.targets, np.float64).mean(axis=0)
    errors = ((np.asarray(held_out.targets, np.float64) - mean) ** 2).reshape(
        len(held_out.targets), -1)
    counted = np.full(len(errors), errors.shape[1])
    excess = float(errors.mean()) / len(train.targets)
    outputs = np.broadcast_to(mean, held_out.targets.shape).astype(np.float32)
    return outputs, errors.sum(axis=1), counted, excess


def _positions(targets: np.ndarray) -> np.ndarray:
    """Class targets as ``[batch, positions]``: one position for a last-step read-out."""
    return targets.reshape(len(targets), -1)

