"""The plugin module of the PyTorch backend (entry point ``bench = torch``).

It must not import torch: bench lists the backend (as unavailable, with the fix, when torch
is missing) without paying for the import. Everything that needs torch is imported on first
use by the module-level functions below, which also keep the registered entries picklable.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import numpy as np

from harness import hookimpl
from harness.canonical import STANDARD_INITIALIZERS, Weights
from harness.registry import STANDARD_OPTIONS, Backend, Cell
from harness.trainer import CellProbe, Trainer, TrainerConfig

if TYPE_CHECKING:
    from torch import nn

INSTALL_HINT = "PyTorch is not installed: pip install 'bench-harness[torch]'"

CELL_DESCRIPTIONS = {
    "rnn": "tanh RNN",
    "lnrnn": "layer-normalised tanh RNN (Géron, ch. 15)",
    "lstm": "LSTM, gates i, f, g, o",
    "gru": "GRU, reset-after, gates r, z, n",
}
FUSED_CELLS = frozenset({"rnn", "lstm", "gru"})


def build_cell(name: str, input_size: int, hidden: int, options: Mapping[str, Any]) -> nn.Module:
    from bench_torch.cells import CELLS

    return CELLS[name](input_size, hidden, options)


def build_trainer(config: TrainerConfig) -> Trainer:
    from bench_torch import trainer

    return trainer.build_trainer(config)


def list_devices() -> list[str]:
    from bench_torch import devices

    return devices.list_devices()


def describe_device(device: str) -> str:
    from bench_torch import devices

    return devices.describe_device(device)


def probe_cell(cell: Cell, weights: Weights, inputs: np.ndarray, cotangent: np.ndarray,
               options: Mapping[str, Any]) -> CellProbe:
    from bench_torch import probe

    return probe.probe_cell(cell, weights, inputs, cotangent, options)


def _torch_version() -> str | None:
    try:
        return version("torch")
    except PackageNotFoundError:
        return None


@hookimpl
def bench_register_backends(register: Callable[[Backend], None]) -> None:
    available = importlib.util.find_spec("torch") is not None
    register(
        Backend(
            name="torch",
            framework="PyTorch",
            version=_torch_version(),
            available=available,
            reason="" if available else INSTALL_HINT,
            build_trainer=build_trainer,
            list_devices=list_devices,
            describe_device=describe_device,
            probe_cell=probe_cell,
        )
    )


@hookimpl
def bench_register_cells(register: Callable[[Cell], None]) -> None:
    for name, description in CELL_DESCRIPTIONS.items():
        register(
            Cell(
                name=name,
                backend="torch",
                factory=partial(build_cell, name),
                initializer=STANDARD_INITIALIZERS[name],
                options=STANDARD_OPTIONS,
                fused=name in FUSED_CELLS,
                description=description,
            )
        )
