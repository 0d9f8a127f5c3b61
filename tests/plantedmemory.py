"""A toy backend whose held-out accuracy is a known function of the sequence length.

Its one cell, ``planted:memory``, "knows" the answer at a share of the positions that
depends only on the length: every one up to SOLVES_UP_TO, half up to REMEMBERS_UP_TO,
none beyond; where it does not know, it guesses uniformly (seeded), so beyond
REMEMBERS_UP_TO it is exactly at chance. ``planted:chance`` knows nothing at any length.
Training steps do nothing: the search and the memory test are what is under test.
"""

from __future__ import annotations

import numpy as np

from harness import hookimpl
from harness.registry import Backend, Cell
from harness.trainer import StepResult, TrainerConfig

SOLVES_UP_TO = 8
REMEMBERS_UP_TO = 24


def known_share(cell: str, length: int) -> float:
    if cell == "chance":
        return 0.0
    return 1.0 if length <= SOLVES_UP_TO else 0.5 if length <= REMEMBERS_UP_TO else 0.0


class PlantedTrainer:
    kernel_path = "planted"
    parameter_count = 0

    def __init__(self, config: TrainerConfig):
        self.cell = config.cell_name
        self.classes = config.output_size
        self.rng = np.random.default_rng(config.seed)

    def train_step(self, inputs, targets) -> StepResult:
        return StepResult(loss=1.0, grad_norm=0.0, applied=True)

    def evaluate(self, inputs, targets):
        knows = self.rng.random(targets.shape) < known_share(self.cell, inputs.shape[1])
        predicted = np.where(knows, targets, self.rng.integers(0, self.classes, targets.shape))
        outputs = np.eye(self.classes, dtype=np.float32)[predicted]
        return float(1.0 - (predicted == targets).mean()), outputs

    def peak_device_memory(self):
        return None

    def export_weights(self):
        return {}


class PlantedBackend:
    @hookimpl
    def bench_register_backends(self, register):
        register(Backend("planted", "numpy", np.__version__, True, PlantedTrainer,
                         lambda: ["cpu"]))

    @hookimpl
    def bench_register_cells(self, register):
        for name in ("memory", "chance"):
            register(Cell(name, "planted", factory=None, initializer=lambda i, h, rng: {}))
