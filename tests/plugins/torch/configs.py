"""Small trainer configurations and batches shared by the torch trainer tests."""

from __future__ import annotations

from functools import partial

import numpy as np

from bench_torch.plugin import build_cell
from harness.canonical import init_readout
from harness.catalogue import STANDARD_CELLS
from harness.trainer import TrainerConfig


def make_config(cell: str = "lstm", *, input_size: int = 2, output_size: int = 1,
                hidden: int = 8, **overrides) -> TrainerConfig:
    rng = np.random.default_rng(0)
    settings = {
        "readout": "last_step", "loss": "mse", "options": {}, "optimizer": "adam",
        "lr": 1e-2, "clip_norm": 1.0, "device": "cpu", "precision": "float32", "seed": 0,
        "cell_weights": STANDARD_CELLS[cell].initializer(input_size, hidden, rng),
        "readout_weights": init_readout(hidden, output_size, rng),
    }
    return TrainerConfig(cell_name=cell, cell_factory=partial(build_cell, cell),
                         input_size=input_size, output_size=output_size, hidden=hidden,
                         **{**settings, **overrides})


def recall_first(rng: np.random.Generator, batch: int = 64, time: int = 5):
    """Last-step MSE: reproduce the first value of channel 0 after ``time`` steps."""
    x = rng.uniform(-1.0, 1.0, size=(batch, time, 2)).astype(np.float32)
    return x, x[:, 0, :1].copy()
