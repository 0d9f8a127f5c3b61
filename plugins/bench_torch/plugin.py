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
from harness.catalogue import standard_cells
from harness.lazy import LazyFunction
from harness.registry import Backend, Cell

INSTALL_HINT = "PyTorch is not installed: pip install 'bench-harness[torch]'"

build_cell = LazyFunction("bench_torch.cells:build_cell")
CELL_FACTORIES = {name: partial(build_cell, name) for name in ("rnn", "lnrnn", "lstm", "gru")}
"""Every standard cell (:mod:`harness.catalogue`), as ``bench_torch.cells.CELLS`` builds it."""
build_trainer = LazyFunction("bench_torch.trainer:build_trainer")
list_devices = LazyFunction("bench_torch.devices:list_devices")
describe_device = LazyFunction("bench_torch.devices:describe_device")
probe_cell = LazyFunction("bench_torch.probe:probe_cell")
set_threads = LazyFunction("bench_torch.threads:set_threads")
set_independent_threads = LazyFunction("bench_torch.threads:set_independent_threads")


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
            set_independent_threads=set_independent_threads,
        )
    )


KERNELS = ("framework", "bench") + (("compiled",) if importlib.util.find_spec("numba") else ())
"""The standard cells' paths: bench's compiled one needs numba (the torch extra brings it)."""
KERNEL_DEVICES = {"compiled": ("cpu",)}
"""The compiled loops call the CPU's BLAS on numpy views of the tensors."""


@hookimpl
def bench_register_cells(register: Callable[[Cell], None]) -> None:
    for cell in standard_cells("torch", CELL_FACTORIES, kernels=KERNELS,
                               kernel_devices=KERNEL_DEVICES):
        register(cell)
