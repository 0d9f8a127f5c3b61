"""Which checks run: a backend's own, then each of its cells', in registry order; each
task's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from harness.catalogue import STANDARD_CELLS
from harness.conformance.backend_checks import BACKEND_CHECKS, GUIDE, standard_cells
from harness.conformance.cell_checks import CELL_CHECKS
from harness.conformance.fixture import CellFixture, ReferenceEquations
from harness.conformance.results import Check, CheckResult, PlannedCheck
from harness.conformance.task_checks import TASK_CHECKS
from harness.conformance.task_fixture import TaskFixture
from harness.errors import BackendUnavailableError
from harness.registry import Backend, Cell, Registry

DEFAULT_TASK = "adding"
"""The task of the ``record`` check's tiny run."""


def plan_checks(registry: Registry, backend: str | None = None,
                cells: Sequence[str] | None = None, task: str = DEFAULT_TASK,
                references: Mapping[str, ReferenceEquations] | None = None
                ) -> list[PlannedCheck]:
    """The checks of ``cells`` (names as ``bench run --cells`` takes them) or of every cell
    of ``backend``, or of everything registered, each with the checks of its backend.

    An unavailable backend named explicitly is a UsageError; otherwise it gets one skipped
    ``available`` check. A cell is held to ``references[name]``, else to the equations of
    its standard name, else to the ``reference`` it was registered with.
    """
    equations = {**{name: c.reference for name, c in STANDARD_CELLS.items()},
                 **(references or {})}
    if cells:
        chosen = registry.resolve_cells(cells, backend=backend)
        backends = [registry.backend(name) for name in dict.fromkeys(c.backend for c in chosen)]
    elif backend is not None:
        backends = [registry.backend(backend)]
        if not backends[0].available:
            raise BackendUnavailableError(
                f"backend {backend!r} is unavailable: {backends[0].reason}")
        chosen = [c for c in registry.cells.values() if c.backend == backend]
    else:
        backends = list(registry.backends.values())
        chosen = list(registry.cells.values())
    planned = []
    for b in backends:
        planned.extend(_backend_checks(b, registry, whole=not cells))
        if b.available:
            planned.extend(
                PlannedCheck(subject, _naming_protocol(check, b), fixture)
                for cell in chosen if cell.backend == b.name
                for subject, kernel in _kernel_paths(cell)
                for fixture in [CellFixture(cell, registry, task,
                                            equations.get(cell.name, cell.reference), kernel)]
                for check in CELL_CHECKS
            )
    return planned


def _kernel_paths(cell: Cell) -> list[tuple[str, str]]:
    """(subject, kernel) for each kernel path the cell offers: ``torch:lstm/bench``; a cell
    with one path keeps its plain name and is built as ``auto`` builds it."""
    if len(cell.kernels) == 1:
        return [(cell.qualified_name, "auto")]
    return [(f"{cell.qualified_name}/{kernel}", kernel) for kernel in cell.kernels]


def run_checks(registry: Registry, backend: str | None = None,
               cells: Sequence[str] | None = None, task: str = DEFAULT_TASK,
               references: Mapping[str, ReferenceEquations] | None = None
               ) -> list[CheckResult]:
    """Run :func:`plan_checks`'s checks; one result per check, never an exception from a
    plugin."""
    return [p.run() for p in plan_checks(registry, backend, cells, task, references)]


def plan_task_checks(registry: Registry, tasks: Sequence[str] | None = None
                     ) -> list[PlannedCheck]:
    """The checks of ``tasks`` (every registered task by default), task by task."""
    names = list(registry.tasks) if tasks is None else tasks
    return [PlannedCheck(fixture.subject, check, fixture)
            for fixture in (TaskFixture(registry.task(name)) for name in names)
            for check in TASK_CHECKS]


def _naming_protocol(check: Check, backend: Backend) -> Check:
    """The check with a fix hint that names the cell protocol of the cell's own backend."""
    protocol = backend.cell_protocol or f"the documentation of backend {backend.name!r}"
    return replace(check, fix=f"{check.fix}; see docs/plugins.md and the cell protocol of "
                   f"backend {backend.name!r} ({protocol})")


def _backend_checks(backend: Backend, registry: Registry, whole: bool) -> list[PlannedCheck]:
    """The backend's own checks; checking the ``whole`` backend (not chosen cells) also
    holds it to the catalogue of standard cells."""
    if not backend.available:
        return [PlannedCheck(backend.name, BACKEND_CHECKS[0], backend)]
    catalogue = (Check("standard cells", partial(standard_cells, registry), GUIDE),) if whole \
        else ()
    return [PlannedCheck(backend.name, check, backend) for check in (*BACKEND_CHECKS, *catalogue)]

