"""Whether two sides' step times were measured under comparable load.

Each record keeps how many of its CPUs other processes kept busy during the run
(``cpus_busy_during_run``, see harness.threads). A run whose threads had to share their cores
measured the neighbours as much as the code, so speed is judged only when, on both sides,
the others left the run's threads their CPUs, and the two sides' loads were alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from harness.formatting import plural
from harness.records import RunRecord

CONTENTION_SLACK = 0.25
"""CPUs the others may take beyond those the run's threads left free, before it counts as
contended (a shell, a log writer)."""
LOAD_DIFFERENCE = 0.5
"""How far apart (in busy CPUs) the two sides' loads may be."""


def contention(record: RunRecord) -> float | None:
    """CPUs the others took from the run's threads (above the slack), or None if unknown."""
    env = record.environment
    busy, cpus, threads = (env.get(key) for key in
                           ("cpus_busy_during_run", "cpus_usable", "threads"))
    if busy is None or cpus is None or threads is None:
        return None
    return busy - (cpus - min(threads, cpus))


def load_reason(baseline: Sequence[RunRecord], current: Sequence[RunRecord],
                interleaved: bool) -> str:
    """Why the sides' speed cannot be judged, or "" when their loads are comparable.

    Interleaved sides share the machine round by round, so only their own contention counts.
    """
    crowded = []
    for side, records in (("baseline", baseline), ("current", current)):
        worst = max(records, key=lambda r: contention(r) or 0.0, default=None)
        if worst is not None and (contention(worst) or 0.0) > CONTENTION_SLACK:
            env = worst.environment
            threads, cpus = env["threads"], env["cpus_usable"]
            crowded.append(f"{side}: {worst.spec.cell} ran {plural(threads, 'thread')} while "
                           f"other processes kept {env['cpus_busy_during_run']:.1f} of {cpus} "
                           f"CPUs busy, over the {cpus - min(threads, cpus) + CONTENTION_SLACK:g} "
                           "allowed")
    if crowded or interleaved:
        return "; ".join(crowded)
    old, new = _busy(baseline), _busy(current)
    if old is not None and new is not None and abs(old - new) > LOAD_DIFFERENCE:
        return (f"other processes kept {old:.1f} CPUs busy during the baseline and "
                f"{new:.1f} during current (medians over runs), more than the "
                f"{LOAD_DIFFERENCE:g} apart allowed")
    return ""


def _busy(records: Sequence[RunRecord]) -> float | None:
    values = [r.environment["cpus_busy_during_run"] for r in records
              if r.environment.get("cpus_busy_during_run") is not None]
    return statistics.median(values) if values else None
