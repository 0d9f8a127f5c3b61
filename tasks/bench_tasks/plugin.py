"""The plugin module of the standard tasks (entry point ``bench = tasks``)."""

from __future__ import annotations

from collections.abc import Callable

from bench_tasks import adding, copy
from harness import hookimpl
from harness.tasks import TaskDefinition


@hookimpl
def bench_register_tasks(register: Callable[[TaskDefinition], None]) -> None:
    register(
        TaskDefinition(
            name="copy",
            description="recall 10 symbols after a delay of T blanks (Arjovsky et al. 2016)",
            parameters=(copy.LENGTH,),
            factory=copy.CopyTask,
        )
    )
    register(
        TaskDefinition(
            name="adding",
            description="sum the two marked values of a length-T sequence (Le et al. 2015)",
            parameters=(adding.LENGTH,),
            factory=adding.AddingTask,
        )
    )
