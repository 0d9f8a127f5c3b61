"""The task contract: what a task plugin registers and what the runner asks of it.

Tasks are framework-neutral: they generate numpy batches from an explicit
``numpy.random.Generator`` and score numpy predictions.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from harness.errors import UnknownNameError, UsageError

Readout = Literal["every_step", "last_step"]
Split = Literal["train", "eval"]
LossKind = Literal["xent", "mse"]

IGNORE_TARGET = -1
"""Class target meaning "no loss at this step" (for ``xent`` tasks read at every step)."""

LENGTH_PARAMETER = "length"
"""The parameter a task with a memory delay declares, by this name: an ``int`` with a
``minimum``, each value building a task whose sequence (``Task.length``) is longer than the
last. ``bench run --length`` and ``--lengths`` set it, the memory search
(:func:`harness.sweep.memory_lengths`) ranks cells by the longest one they solve and the
report plots accuracy against it; ``bench check --tasks`` checks the convention. A task
without a delay (``digits``) has no ``length`` parameter."""


@dataclass(frozen=True)
class Parameter:
    """One task parameter: its type, default, bounds and help text."""

    name: str
    type: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None

    def coerce(self, raw: Any) -> Any:
        """Convert a (possibly string) value and check its bounds, or raise UsageError."""
        try:
            if self.type is bool and isinstance(raw, str):
                if raw.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                    raise ValueError(raw)
                value = raw.lower() in {"true", "1", "yes"}
            else:
                value = self.type(raw)
        except (TypeError, ValueError):
            raise UsageError(
                f"invalid value {raw!r} for task parameter {self.name!r}: "
                f"expected {self.type.__name__}"
            ) from None
        if self.minimum is not None and value < self.minimum:
            raise UsageError(f"task parameter {self.name!r} must be >= {self.minimum:g}, "
                             f"got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise UsageError(f"task parameter {self.name!r} must be <= {self.maximum:g}, "
                             f"got {value!r}")
        return value


@dataclass(frozen=True)
class Batch:
    """Inputs ``[batch, time, features]`` float32 and targets.

    Targets are int64 class indices ``[batch, time]`` (every-step readout) or
    ``[batch]`` (last-step readout) for ``xent`` tasks, float32 ``[batch, outputs]``
    for ``mse`` tasks.
    """

    inputs: np.ndarray
    targets: np.ndarray


class Task(abc.ABC):
    """A task with its parameters fixed: generator, loss kind, baseline and metrics."""

    input_size: int
    output_size: int
    length: int  # number of input steps
    readout: Readout
    loss: LossKind
    baseline_loss: float
    """Loss of the best predictor that ignores the input: per output position, the class
    frequencies (``xent``) or the mean (``mse``) of the targets, scored on the held-out set.
    The task kit (:mod:`harness.conformance`) measures it."""
    headline: str
    """Name of the headline metric (higher is better, in [0, 1]; 1 for perfect outputs)."""
    chance: float
    """Headline metric of that same input-free predictor."""
    solved_criterion: str
    """Human-readable statement of :meth:`is_solved`."""

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator, batch_size: int, split: Split = "train") -> Batch:
        """A fresh batch drawn from ``rng`` only.

        Synthetic tasks ignore ``split`` (train and evaluation differ by their seed
        streams); a task built on a fixed data set draws from its training or test part.
        """

    def held_out(self, rng: np.random.Generator, size: int) -> Batch:
        """The fixed evaluation set. A data-set task may return its whole test split."""
        return self.sample(rng, size, split="eval")

    @abc.abstractmethod
    def headline_scores(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """The headline metric of each held-out example, ``[B]`` in [0, 1].

        One score per example, not per position: the positions of one example share its
        sequence and are correlated, so the examples are the independent units that the
        memory test (:mod:`harness.memory`) counts.
        """

    def headline_metric(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """Headline metric of model outputs (logits or values) against targets: the mean of
        :meth:`headline_scores` (every example weighs the same)."""
        return float(np.mean(self.headline_scores(outputs, targets)))

    @abc.abstractmethod
    def is_solved(self, loss: float, headline: float) -> bool:
        """Whether an evaluation with this loss and headline metric counts as solved."""


@dataclass
class TaskDefinition:
    """What a plugin registers: a named task family and how to build one instance."""

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    factory: Callable[..., Task]
    plugin: str = field(default="", compare=False)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def resolve_params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``given``, every value coerced and checked."""
        by_name = {p.name: p for p in self.parameters}
        for name in given:
            if name not in by_name:
                raise UnknownNameError("parameter", name, by_name, where=f" of task {self.name!r}")
        return {
            p.name: p.coerce(given[p.name]) if p.name in given else p.default
            for p in self.parameters
        }

    def build(self, params: Mapping[str, Any]) -> Task:
        return self.factory(**self.resolve_params(params))
