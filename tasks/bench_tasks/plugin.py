"""The plugin module of the standard tasks (entry point ``bench = tasks``)."""

from __future__ import annotations

from collections.abc import Callable

from bench_tasks import adding, copy, digits, recall, selective_copy
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
    register(
        TaskDefinition(
            name="selective_copy",
            description="recall K symbols scattered among T blanks, in order "
            "(S4, MAD, Mamba)",
            parameters=(selective_copy.LENGTH, selective_copy.TOKENS),
            factory=selective_copy.SelectiveCopyTask,
        )
    )
    register(
        TaskDefinition(
            name="recall",
            description="associative recall: P key-value pairs, T blanks, then each key "
            "queried for its value (Zoology's MQAR)",
            parameters=(recall.LENGTH, recall.PAIRS, recall.KEYS, recall.VALUES),
            factory=recall.RecallTask,
        )
    )
    register(
        TaskDefinition(
            name="digits",
            description="classify scikit-learn's 8x8 digits read pixel by pixel, "
            "optionally in a fixed permuted order (sequential/permuted MNIST in small)",
            parameters=(digits.PERMUTED,),
            factory=digits.DigitsTask,
        )
    )
