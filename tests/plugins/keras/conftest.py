"""Fixtures of the Keras backend tests: one plugin host and small trainer configurations.

TensorFlow takes seconds to import and each compiled step a second to trace, so the tests
share one host, keep sizes tiny and build as few trainers as they can.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from harness.canonical import Weights, init_readout, probe_weights
from harness.registry import Cell, Registry
from harness.trainer import TrainerConfig
from tests.helpers import make_host


@pytest.fixture(scope="session")
def keras_registry() -> Registry:
    return make_host("tasks", "keras").registry


@pytest.fixture(scope="session")
def keras_cell(keras_registry) -> Callable[[str], Cell]:
    return lambda name: keras_registry.cells[("keras", name)]


@pytest.fixture(scope="session")
def canonical_weights(keras_cell) -> Callable[..., Weights]:
    """Seeded canonical weights whose biases, offsets and scales are off their initial
    values, so that every weight matters in a comparison."""

    def draw(name: str, input_size: int, hidden: int, seed: int = 0) -> Weights:
        return probe_weights(keras_cell(name).initializer, input_size, hidden,
                             np.random.default_rng(seed))

    return draw


@pytest.fixture(scope="session")
def make_config(keras_cell, canonical_weights) -> Callable[..., TrainerConfig]:
    """A TrainerConfig for a Keras cell: every-step cross-entropy over 4 classes by default."""

    def make(name: str = "lstm", *, input_size: int = 4, output_size: int = 4, hidden: int = 8,
             **overrides) -> TrainerConfig:
        settings = {
            "readout": "every_step", "loss": "xent", "options": {}, "optimizer": "adam",
            "lr": 0.05, "clip_norm": 1.0, "device": "cpu", "precision": "float32", "seed": 0,
            "cell_weights": canonical_weights(name, input_size, hidden),
            "readout_weights": init_readout(hidden, output_size, np.random.default_rng(1)),
        }
        return TrainerConfig(cell_name=name, cell_factory=keras_cell(name).factory,
                             input_size=input_size, output_size=output_size, hidden=hidden,
                             **{**settings, **overrides})

    return make

