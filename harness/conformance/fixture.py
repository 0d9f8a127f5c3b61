"""What one cell's checks share: tiny sizes, seeded weights and data, and trainers.

Each trainer the checks need is built and put through one short protocol once, and only
its numpy results are kept: a Keras trainer takes seconds to compile, and checks that only
read results cannot disturb each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.canonical import Weights, init_readout, probe_weights
from harness.conformance.results import CheckSkipped
from harness.registry import STANDARD_OPTIONS, Backend, Cell, Registry
from harness.tasks import Readout
from harness.trainer import CellProbe, Trainer, TrainerConfig

INPUT_SIZE = 3
OUTPUT_SIZE = 2
HIDDEN = 4
BATCH = 3
LENGTH = 5
SEED = 0
RATE = 0.5
"""The dropout rate the option checks train with."""
TRAIN_STEPS = 2

ReferenceEquations = Callable[[np.ndarray, Weights], tuple[np.ndarray, Any]]
"""``(x [batch, time, input], canonical weights) -> (outputs, final state)`` in numpy, as
the functions of :mod:`harness.reference`."""


@dataclass(frozen=True)
class Snapshot:
    """A trainer after the kit's protocol: build, export, evaluate, train, export."""

    kernel_path: str
    parameter_count: int
    loaded: Weights
    exported: Weights
    """``export_weights()`` right after building."""
    outputs: np.ndarray
    """``evaluate()`` before training."""
    losses: tuple[float, ...]
    trained: Weights
    """``export_weights()`` after :data:`TRAIN_STEPS` steps."""


class CellFixture:
    """One registered cell with everything its checks draw on (see :mod:`.cell_checks`), on
    one of its kernel paths (``kernel``, as ``bench run --kernel`` takes it)."""

    def __init__(self, cell: Cell, registry: Registry, task: str,
                 reference: ReferenceEquations | None, kernel: str = "auto"):
        self.cell = cell
        self.kernel = kernel
        self.backend: Backend = registry.backend(cell.backend)
        self.registry = registry
        self.task = task
        self.reference = reference
        rng = np.random.default_rng(SEED + 1)
        self.inputs = rng.normal(size=(BATCH, LENGTH, INPUT_SIZE)).astype(np.float32)
        self.targets = rng.normal(size=(BATCH, LENGTH, OUTPUT_SIZE)).astype(np.float32)
        self.cotangent = rng.normal(size=(BATCH, LENGTH, HIDDEN)).astype(np.float32)
        self._snapshots: dict[tuple, Snapshot] = {}
        self._last_step: Trainer | None = None

    def weights(self, hidden: int = HIDDEN) -> Weights:
        """Canonical initial weights with every vector moved off its initial value, so a
        misplaced bias or gate block shows."""
        return probe_weights(self.cell.initializer, INPUT_SIZE, hidden,
                             np.random.default_rng(SEED))

    def config(self, options: Mapping[str, Any] | None = None, hidden: int = HIDDEN,
               readout: Readout = "every_step", weights: Weights | None = None) -> TrainerConfig:
        return TrainerConfig(
            cell_name=self.cell.name, cell_factory=self.cell.factory, input_size=INPUT_SIZE,
            output_size=OUTPUT_SIZE, hidden=hidden, readout=readout, loss="mse",
            options=dict(options or {}), optimizer="adam", lr=0.01, clip_norm=1.0,
            device="cpu", precision="float32", seed=SEED, kernel=self.kernel,
            cell_weights=weights if weights is not None else self.weights(hidden),
            readout_weights=init_readout(hidden, OUTPUT_SIZE, np.random.default_rng(SEED)),
        )

    def build(self, **config: Any) -> Trainer:
        return self.backend.build_trainer(self.config(**config))

    def last_step_trainer(self) -> Trainer:
        """A trainer with a last-step read-out and another hidden size, never trained."""
        if self._last_step is None:
            self._last_step = self.build(hidden=HIDDEN - 1, readout="last_step")
        return self._last_step

    def option_prefixes(self) -> list[dict[str, float]]:
        """The declared standard options switched on one after another at :data:`RATE`:
        ``[{}, {dropout}, {dropout, recurrent_dropout}]`` for a cell declaring both.

        An option that is ignored leaves a trainer's computation exactly that of the
        previous prefix, so each option is judged with one trainer more.
        """
        declared = [name for name in STANDARD_OPTIONS if name in self.cell.options]
        return [{name: RATE for name in declared[:n]} for n in range(len(declared) + 1)]

    def snapshot(self, options: Mapping[str, float] | None = None, replica: int = 0) -> Snapshot:
        """The protocol run on a trainer with these options; ``replica`` asks for another,
        independently built one."""
        key = (tuple(sorted((options or {}).items())), replica)
        if key not in self._snapshots:
            config = self.config(options)
            trainer = self.backend.build_trainer(config)
            exported = trainer.export_weights()
            _, outputs = trainer.evaluate(self.inputs, self.targets)
            losses = tuple(trainer.train_step(self.inputs, self.targets).loss
                           for _ in range(TRAIN_STEPS))
            self._snapshots[key] = Snapshot(
                trainer.kernel_path, trainer.parameter_count, config.cell_weights, exported,
                np.asarray(outputs), losses, trainer.export_weights(),
            )
        return self._snapshots[key]

    def probe(self, weights: Weights, inputs: np.ndarray, cotangent: np.ndarray) -> CellProbe:
        if self.backend.probe_cell is None:
            raise CheckSkipped(f"backend {self.backend.name!r} has no probe_cell")
        chosen = {} if self.kernel == "auto" else {"kernel": self.kernel}
        return self.backend.probe_cell(
            self.cell, {name: value.copy() for name, value in weights.items()},
            np.array(inputs, np.float32), np.array(cotangent, np.float32), {}, **chosen,
        )
