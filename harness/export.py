"""Run records as one flat table for analysts: a row per run, a column per measurement.

pandas is optional (``pip install 'bench-harness[analysis]'``); nothing else in bench needs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import UsageError
from harness.records import RunRecord, load_results

if TYPE_CHECKING:
    import pandas

SECTIONS = ("spec", "accuracy", "speed", "stability", "environment")
"""Record sections flattened into ``section.field`` columns (``spec.task_params.length``)."""
PER_STEP_FIELDS = frozenset({"accuracy.curve", "speed.step_ms", "stability.gradient_profile"})
"""Series inside a record (one value per evaluation, step or lag): not one value per run, so
not a column; read them from the records themselves."""


def flat_row(record: RunRecord) -> dict[str, Any]:
    """One run as ``{column: scalar}``; nested tables become dotted column names."""
    data = record.to_dict()
    row: dict[str, Any] = {key: data[key] for key in ("run_id", "status", "error", "steps_done",
                                                       "started_at", "finished_at")}
    for section in SECTIONS:
        _flatten(section, data.get(section) or {}, row)
    return row


def _flatten(prefix: str, values: dict[str, Any], row: dict[str, Any]) -> None:
    for key, value in values.items():
        column = f"{prefix}.{key}"
        if column in PER_STEP_FIELDS:
            continue
        if isinstance(value, dict):
            _flatten(column, value, row)
        else:
            row[column] = value


def to_dataframe(records: Iterable[RunRecord]) -> pandas.DataFrame:
    """The records as a DataFrame, one row per run, indexed by ``run_id``."""
    pd = _pandas()
    return pd.DataFrame([flat_row(r) for r in records]).set_index("run_id")


def load_dataframe(path: str | Path) -> pandas.DataFrame:
    """Every readable record under ``path`` (a results directory or one file) as a DataFrame:
    ``harness.export.load_dataframe("bench-results")``."""
    return to_dataframe(load_results(Path(path)).records)


def _pandas():
    try:
        import pandas
    except ModuleNotFoundError:
        raise UsageError("exporting records needs pandas: pip install 'bench-harness[analysis]'"
                         ) from None
    return pandas
