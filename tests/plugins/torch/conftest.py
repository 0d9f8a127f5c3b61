"""Fixtures of the PyTorch backend tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from harness.canonical import Weights
from harness.catalogue import STANDARD_CELLS


@pytest.fixture
def canonical_weights() -> Callable[..., Weights]:
    """Seeded canonical weights with non-zero biases and offsets and scales away from one,
    so that every weight matters in a comparison."""

    def draw(name: str, input_size: int, hidden: int, seed: int = 0) -> Weights:
        rng = np.random.default_rng(seed)
        weights = STANDARD_CELLS[name].initializer(input_size, hidden, rng)
        for key in ("b", "b_rec", "beta"):
            if key in weights:
                weights[key] = rng.normal(0.0, 0.5, weights[key].shape).astype(np.float32)
        if "gamma" in weights:
            weights["gamma"] = rng.uniform(0.5, 1.5, hidden).astype(np.float32)
        return weights

    return draw
