"""What plugins register, validated, attributed to their plugin and looked up by name."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.canonical import Initializer, Weights
from harness.errors import DuplicateRegistrationError, UnknownNameError, UsageError
from harness.execution import ExecutorDefinition
from harness.tasks import TaskDefinition
from harness.trainer import CellProbe, Trainer, TrainerConfig

STANDARD_OPTIONS = ("dropout", "recurrent_dropout")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
"""Names of backends, cells, tasks and executors: they reach file names and command lines."""


@dataclass
class Backend:
    """A framework backend. Registering one must not import its framework."""

    name: str
    framework: str
    version: str | None
    available: bool
    build_trainer: Callable[[TrainerConfig], Trainer]
    list_devices: Callable[[], list[str]]
    """Devices it can run on, best first; called lazily (it may import the framework)."""
    reason: str = ""
    """Why it is unavailable, with the command that would fix it."""
    describe_device: Callable[[str], str] | None = None
    """Human-readable name of a device (e.g. the GPU model), for result records."""
    probe_cell: Callable[..., CellProbe] | None = None
    """``probe_cell(cell, weights, inputs, cotangent, options) -> CellProbe`` on the CPU in
    float32, in training mode with any fused kernel the options allow (dropout must be 0):
    the cross-backend parity check and the conformance kit use it. For a cell with more
    than one of :attr:`Cell.kernels` the kit also passes ``kernel=`` each of them."""
    cell_protocol: str = ""
    """Where the protocol its cells' factories follow is documented (a module, e.g.
    ``bench_torch.cells``): the conformance kit's fix hints name it."""
    set_threads: Callable[[int], int] | None = None
    """``set_threads(n)`` sets the framework's intra- and inter-op thread counts for the runs
    that follow in this process and returns the intra-op count in effect (a framework may
    only take it before its first use). bench's thread policy decides ``n``."""
    set_independent_threads: Callable[[int], None] | None = None
    """``set_independent_threads(n)``, called after ``set_threads``: the threads for the
    backend's work whose threads never wait for one another within a run (the torch
    backend's compiled loops: one batch part per thread), which bench's policy gives the
    run's share of every usable CPU even when other processes keep some busy
    (:attr:`harness.threads.ThreadPolicy.independent`)."""
    spread_when_busy: bool = False
    """Whether the framework's thread pool keeps its pace when other processes preempt its
    threads (no spinning barriers), so that with no CPU free a run is faster on every usable
    CPU than on one: measured true for TensorFlow, false for PyTorch's OpenMP threads, which
    slow down many times over (docs/threads.md)."""
    plugin: str = field(default="", compare=False)


@dataclass
class Cell:
    """A recurrent cell of one backend."""

    name: str
    backend: str
    factory: Callable
    """Backend-specific constructor; the backend's trainer documents its signature."""
    initializer: Initializer
    """Canonical weights from (input_size, hidden, rng): see :mod:`harness.canonical`."""
    options: tuple[str, ...] = STANDARD_OPTIONS
    fused: bool = False
    """Whether a fused framework kernel exists for it (used when the options allow)."""
    kernels: tuple[str, ...] = ("framework",)
    """The choices of :data:`harness.spec.KERNELS` besides ``auto`` that it honours;
    ``framework`` always."""
    kernel_devices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The device types (``cpu``, ``cuda``) each kernel of :attr:`kernels` runs on, for
    those that do not run on every device; bench refuses any other device before a run
    starts, and ``--device auto`` takes the first device the kernel runs on."""
    description: str = ""
    framework_init: bool = False
    """Whether the module its factory builds holds weights its framework drew (seeded by
    the run), which ``--init framework`` keeps; a cell whose weights are placeholders until
    the canonical ones are loaded leaves it False, and bench refuses ``--init framework``."""
    reference: Callable[[np.ndarray, Weights], tuple[np.ndarray, Any]] | None = None
    """Numpy equations ``(x, weights) -> (outputs, final_state)``, as in
    :mod:`harness.reference`, that the conformance kit's ``reference`` check holds a cell
    with a name of its own to (a standard name has its equations already)."""
    plugin: str = field(default="", compare=False)

    @property
    def qualified_name(self) -> str:
        return f"{self.backend}:{self.name}"


class Registry:
    """Backends, cells and tasks registered by plugins."""

    def __init__(self) -> None:
        self.backends: dict[str, Backend] = {}
        self.cells: dict[tuple[str, str], Cell] = {}
        self.tasks: dict[str, TaskDefinition] = {}
        self.executors: dict[str, ExecutorDefinition] = {}

    def add_backend(self, backend: Backend, plugin: str) -> None:
        _require(isinstance(backend, Backend), plugin, "register a harness.registry.Backend")
        _require_safe_name(backend.name, "backend", plugin)
        backend.plugin = plugin
        _claim(self.backends, backend.name, backend, f"backend {backend.name!r}")

    def add_cell(self, cell: Cell, plugin: str) -> None:
        _require(isinstance(cell, Cell), plugin, "register a harness.registry.Cell")
        _require_safe_name(cell.name, "cell", plugin)
        unknown = [option for option in cell.options if option not in STANDARD_OPTIONS]
        _require(not unknown, plugin, f"declare the options of its cell {cell.name!r} among "
                 f"{', '.join(STANDARD_OPTIONS)}, not {', '.join(map(repr, unknown))}")
        cell.plugin = plugin
        _claim(self.cells, (cell.backend, cell.name), cell, f"cell {cell.qualified_name!r}")

    def add_task(self, task: TaskDefinition, plugin: str) -> None:
        _require(isinstance(task, TaskDefinition), plugin, "register a TaskDefinition")
        _require_safe_name(task.name, "task", plugin)
        task.plugin = plugin
        _claim(self.tasks, task.name, task, f"task {task.name!r}")

    def add_executor(self, executor: ExecutorDefinition, plugin: str) -> None:
        _require(isinstance(executor, ExecutorDefinition), plugin,
                 "register a harness.execution.ExecutorDefinition")
        _require_safe_name(executor.name, "executor", plugin)
        executor.plugin = plugin
        _claim(self.executors, executor.name, executor, f"executor {executor.name!r}")

    def executor(self, name: str) -> ExecutorDefinition:
        if name not in self.executors:
            raise UnknownNameError("executor", name, self.executors)
        return self.executors[name]

    def task(self, name: str) -> TaskDefinition:
        if name not in self.tasks:
            raise UnknownNameError("task", name, self.tasks)
        return self.tasks[name]

    def backend(self, name: str) -> Backend:
        if name not in self.backends:
            raise UnknownNameError("backend", name, self.backends)
        return self.backends[name]

    def available_backends(self) -> list[Backend]:
        return [b for b in self.backends.values() if b.available]

    def resolve_cells(self, names: Iterable[str], backend: str | None = None) -> list[Cell]:
        """Cells for names such as ``lstm`` or ``torch:lstm``.

        An unqualified name means that cell in every available backend that has it, or
        only in ``backend`` when given.
        """
        if backend is not None:
            self.backend(backend)
        resolved: list[Cell] = []
        for raw in names:
            name = raw.strip()
            if not name:
                raise UsageError("empty cell name in --cells")
            if ":" in name:
                backend_name, cell_name = name.split(":", 1)
                if backend is not None and backend_name != backend:
                    raise UsageError(f"cell {name!r} is not in --backend {backend!r}")
                self.backend(backend_name)
                cell = self.cells.get((backend_name, cell_name))
                if cell is None:
                    names_there = [f"{b}:{c}" for (b, c) in self.cells if b == backend_name]
                    raise UnknownNameError("cell", name, names_there)
                self._require_available(cell)
                resolved.append(cell)
                continue
            matches = [
                cell for (b, c), cell in self.cells.items()
                if c == name and (backend is None or b == backend)
            ]
            if not matches:
                pool = {c for (b, c) in self.cells if backend is None or b == backend}
                raise UnknownNameError("cell", name, pool)
            usable = [c for c in matches if self.backends[c.backend].available]
            if not usable:
                self._require_available(matches[0])
            resolved.extend(usable)
        return _unique(resolved)

    def orphan_cells(self) -> list[Cell]:
        """Cells whose backend no plugin registered."""
        return [c for c in self.cells.values() if c.backend not in self.backends]

    def remove_cell(self, cell: Cell) -> None:
        del self.cells[(cell.backend, cell.name)]

    def _require_available(self, cell: Cell) -> None:
        backend = self.backends[cell.backend]
        if not backend.available:
            raise UsageError(f"backend {backend.name!r} is unavailable: {backend.reason}")


def _unique(cells: list[Cell]) -> list[Cell]:
    seen: set[str] = set()
    out = []
    for cell in cells:
        if cell.qualified_name not in seen:
            seen.add(cell.qualified_name)
            out.append(cell)
    return out


def _require(condition: bool, plugin: str, message: str) -> None:
    if not condition:
        raise TypeError(f"plugin {plugin!r} must {message}")


def _require_safe_name(name: object, kind: str, plugin: str) -> None:
    _require(isinstance(name, str) and SAFE_NAME.fullmatch(name) is not None, plugin,
             f"name its {kind} with letters, digits and _ . + - (starting with a letter or "
             f"digit), not {name!r}")


def _claim(table: dict, key, entry, what: str) -> None:
    if key in table:
        raise DuplicateRegistrationError(
            f"{what} registered by both plugin {table[key].plugin!r} and plugin {entry.plugin!r}"
        )
    table[key] = entry
