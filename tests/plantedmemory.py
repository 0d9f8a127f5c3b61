"""A toy backend whose held-out accuracy is a known function of the sequence length.

Its cell ``planted:memory`` "knows" the answer at a share of the positions that depends
only on the length: every one up to ``solves_up_to``, half up to ``remembers_up_to``, none
beyond; where it does not know, it guesses uniformly (seeded), so beyond
``remembers_up_to`` it is exactly at chance. ``planted:chance`` knows nothing at any length.
Training steps do nothing: the search and the memory test are what is under test.
"""

from __future__ import annotations

import numpy as np

from harness import hookimpl
from harness.registry import Backend, Cell
from harness.trainer import StepResult, TrainerConfig

SOLVES_UP_TO = 8
REMEMBERS_UP_TO = 24


def known_share(boundaries: tuple[int, int], length: int) -> float:
    solves_up_to, remembers_up_to = boundaries
    return 1.0 if length <= solves_up_to else 0.5 if length <= remembers_up_to else 0.0


class PlantedTrainer:
    kernel_path = "planted"
    parameter_count = 0

    def __init__(self, config: TrainerConfig):
        self.boundaries = config.cell_factory
        self.classes = config.output_size
        self.rng = np.random.default_rng(config.seed)

    def train_step(self, inputs, targets) -> StepResult:
        return StepResult(loss=1.0, grad_norm=0.0, applied=True)

    def evaluate(self, inputs, targets):
        knows = self.rng.random(targets.shape) < known_share(self.boundaries, inputs.shape[1])
        predicted = np.where(knows, targets, self.rng.integers(0, self.classes, targets.shape))
        outputs = np.eye(self.classes, dtype=np.float32)[predicted]
        return float(1.0 - (predicted == targets).mean()), outputs

    def peak_device_memory(self):
        return None

    def export_weights(self):
        return {}


class PlantedBackend:
    def __init__(self, solves_up_to: int = SOLVES_UP_TO, remembers_up_to: int = REMEMBERS_UP_TO):
        self.boundaries = (solves_up_to, remembers_up_to)

    @hookimpl
    def bench_register_backends(self, register):
        register(Backend("planted", "numpy", np.__version__, True, PlantedTrainer,
                         lambda: ["cpu"]))

    @hookimpl
    def bench_register_cells(self, register):
        for name, boundaries in (("memory", self.boundaries), ("chance", (0, 0))):
            register(Cell(name, "planted", factory=boundaries, initializer=lambda i, h, rng: {}))
