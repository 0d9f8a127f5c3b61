"""The hooks a bench plugin can implement.

Each hook receives a ``register`` callable instead of returning values, so the core can
validate every entry, attach the plugin's name to it and reject duplicates.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from harness import PROJECT_NAME

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def bench_register_backends(register: Callable) -> None:
    """Register framework backends.

    :param register: call ``register(Backend(...))`` once per backend; see
        :class:`harness.registry.Backend`. Must not import the framework itself, so a
        missing framework shows as "unavailable" rather than a load error.
    """


@hookspec
def bench_register_cells(register: Callable) -> None:
    """Register recurrent cells.

    :param register: call ``register(Cell(...))`` once per cell; see
        :class:`harness.registry.Cell`. A cell belongs to one backend, named by
        ``Cell.backend``; the same cell name in several backends means the same equations.
    """


@hookspec
def bench_register_tasks(register: Callable) -> None:
    """Register synthetic tasks.

    :param register: call ``register(TaskDefinition(...))`` once per task; see
        :class:`harness.tasks.TaskDefinition`.
    """


@hookspec
def bench_register_executors(register: Callable) -> None:
    """Register executors: where and how runs execute (in-process, a pool, a cluster).

    :param register: call ``register(ExecutorDefinition(...))`` once per executor; see
        :mod:`harness.execution`.
    """
