"""The report's content, independent of its format: one section per task, then the
environment and the files that were skipped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness.answer import answer_lines
from harness.environment import now_iso
from harness.formatting import plural
from harness.records import ResultSet, RunRecord
from harness.sweep import memory_lengths, setting_labels, summarise_cells
from harness.table_model import Table

from .figures import Colours, Plot, cell_colours, task_figures
from .groups import by_setting, by_task
from .published import published_table
from .tables import (
    environment_table,
    memory_table,
    run_table,
    seeds_table,
    skipped_table,
)


@dataclass
class Section:
    """Everything about one task: runs of different tasks are never mixed in a table or plot."""

    task: str
    overview: str
    figures: list[Plot]
    tables: list[Table]
    """Across seeds, memory length (length sweeps only), then per run."""


@dataclass
class Report:
    source: Path
    generated: str
    overview: str
    sections: list[Section]
    environment: Table
    skipped: Table
    answers: list[str] = field(default_factory=list)
    """One line per cell of each task with a length: how far back it remembers."""
    published: Table | None = None
    """Published claims against the measured numbers (a ``bench reproduce`` directory)."""


def _overview(records: list[RunRecord]) -> str:
    cells = sorted({r.spec.cell for r in records})
    settings = list(by_setting(records))
    seeds = sorted({r.spec.seed for r in records})
    statuses = Counter(r.status for r in records)
    solved = sum(bool(r.accuracy and r.accuracy.solved) for r in records)
    return (f"{plural(len(records), 'run')}: {plural(len(cells), 'cell')} "
            f"({', '.join(cells)}) × {plural(len(settings), 'setting')} ({', '.join(settings)})"
            f" × {plural(len(seeds), 'seed')}; {solved} solved; "
            + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) + ".")


def _section(task: str, records: list[RunRecord], colours: Colours) -> Section:
    tables = [seeds_table(summarise_cells(records), records)]
    memories = memory_lengths(records)
    if len({length for m in memories for length in m.success_rate}) > 1:
        tables.append(memory_table(memories))
    tables.append(run_table(records))
    return Section(task, _overview(records), task_figures(task, records, colours), tables)


def assemble(results: ResultSet, source: Path) -> Report:
    tasks = by_task(results.records)
    colours = cell_colours([*setting_labels(results.records).values(),
                            *(memory.label for memory in memory_lengths(results.records))])
    published = published_table(results, source)
    overview = (f"{plural(len(results.records), 'run')} of {plural(len(tasks), 'task')} "
                f"({', '.join(tasks)}); {plural(len(results.skipped), 'file')} skipped.")
    return Report(
        source=source, generated=now_iso(), overview=overview,
        sections=[_section(task, records, colours) for task, records in tasks.items()],
        environment=environment_table(results.records),
        skipped=skipped_table(results.skipped, source),
        answers=answer_lines(results.records),
        published=published,
    )
