"""The plugin module of the PyTorch backend (entry point ``bench = torch``).

It must not import torch: bench lists the backend (as unavailable, with the fix, when torch
is missing) without paying for the import. Everything that needs torch is imported on first
use (``LazyFunction``), which also keeps the registered entries picklable.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import partial
from importlib.metadata import PackageNotFoundError, version

from harness import hookimpl
from harness.canonical import STANDARD_INITIALIZERS
from harness.lazy import LazyFunction
from harness.registry import STANDARD_OPTIONS, Backend, Cell

INSTALL_HINT = "PyTorch is not installed: pip install 'bench-harness[torch]'"

CELL_DESCRIPTIONS = {
    "rnn": "tanh RNN",
    "lnrnn": "layer-normalised tanh RNN (Géron, ch. 15)",
    "lstm": "LSTM, gates i, f, g, o",
    "gru": "GRU, reset-after, gates r, z, n",
}
FUSED_CELLS = frozenset({"rnn", "lstm", "gru"})


build_cell = LazyFunction("bench_torch.cells:build_cell")
build_trainer = LazyFunction("bench_torch.trainer:build_trainer")
list_devices = LazyFunction("bench_torch.devices:list_devices")
describe_device = LazyFunction("bench_torch.devices:describe_device")
probe_cell = LazyFunction("bench_torch.probe:probe_cell")
set_threads = LazyFunction("bench_torch.threads:set_threads")


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
            cell_protocol="bench_torch.cells",
            set_threads=set_threads,
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
                kernels=("framework", "bench"),
                description=description,
            )
        )
