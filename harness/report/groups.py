"""How the report orders and groups records: by task, then by task setting and cell."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from harness.records import RunRecord


def params_label(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(params.items())) or "defaults"


def _setting_key(record: RunRecord) -> tuple:
    return tuple(sorted(record.spec.task_params.items()))


def by_task(records: Iterable[RunRecord]) -> dict[str, list[RunRecord]]:
    """Records per task (tasks by name), each list ordered by cell, setting and seed."""
    tasks: dict[str, list[RunRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.spec.cell, _setting_key(r), r.spec.seed)):
        tasks[record.spec.task].append(record)
    return dict(sorted(tasks.items()))


def by_setting(records: Iterable[RunRecord]) -> dict[str, list[RunRecord]]:
    """Records per task setting (e.g. ``length=100``), settings in ascending order."""
    settings: dict[tuple, list[RunRecord]] = defaultdict(list)
    for record in records:
        settings[_setting_key(record)].append(record)
    return {params_label(dict(key)): group for key, group in sorted(settings.items())}


def by_cell(records: Iterable[RunRecord], label: Mapping[str, str]) -> dict[str, list[RunRecord]]:
    """Records per cell as ``label`` (:func:`harness.sweep.setting_labels` of the task's
    records) names it, cells by name."""
    cells: dict[str, list[RunRecord]] = defaultdict(list)
    for record in records:
        cells[label[record.spec.run_id]].append(record)
    return dict(sorted(cells.items()))
