"""The report's "published against measured" table, for a results directory written by
``bench reproduce``: each claim of the suite copied there, judged on the records found."""

from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError
from harness.records import ResultSet
from harness.reproduce import judge, load_reproduce_suite, suite_copy
from harness.table_model import Column, Table


def published_table(results: ResultSet, source: Path) -> Table | None:
    """None when ``source`` holds no reproduce suite; an unreadable one is named in
    ``results.skipped`` instead."""
    path = suite_copy(source)
    if not path.is_file():
        return None
    try:
        suite = load_reproduce_suite(str(path))
    except UsageError as exc:
        results.skipped.append((path, str(exc)))
        return None
    table = Table("Published against measured", [Column(name) for name in (
        "claim", "source", "published", "measured", "outcome")],
        caption=f"{suite.suite.description}. Each check is judged over the seeds of its "
        f"cell at the claim's setting: solved or remembered by at least half of them, the "
        f"median loss/baseline.")
    for outcome in judge(suite.claims, results.records):
        table.rows.append([
            outcome.claim.text, outcome.claim.source,
            "; ".join(f"{c.check.text} ({outcome.claim.setting})" for c in outcome.checks),
            " | ".join(dict.fromkeys(f"{c.check.cell}: {c.measured}" for c in outcome.checks)),
            outcome.verdict,
        ])
    return table
