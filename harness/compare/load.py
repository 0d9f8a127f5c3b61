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
                interleaved: bool, factor: float) -> str:
    """Why the sides' speed cannot be judged, or "" when their loads are comparable.

    Interleaved sides share the machine round by round, so only their own contention counts.
    ``factor``: the speed rule's, which a machine that itself ran that much slower during a
    run (:func:`machine_reason`) would make meaningless.
    """
    if not interleaved and (reason := machine_reason(baseline, current, factor)):
        return reason  # interleaved rounds are scaled one by one: the machine's drift cancels
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


def machine_reason(baseline: Sequence[RunRecord], current: Sequence[RunRecord],
                   factor: float) -> str:
    """Why speed cannot be judged when the machine itself was slower during a run by the
    speed rule's factor or more, or "". Seen by a fixed piece of work timed beside each step
    (``speed.reference_us``): on a shared virtual machine the host's other guests slow every
    process alike, and no process of this machine shows them."""
    timed = [(side, r) for side, records in (("baseline", baseline), ("current", current))
             for r in records if r.speed is not None and r.speed.reference_us]
    if not timed:
        return ""
    fast = min(timed, key=lambda item: item[1].speed.reference_us)
    slow = max(timed, key=lambda item: item[1].speed.reference_us)
    ratio = slow[1].speed.reference_us / fast[1].speed.reference_us
    if ratio < factor:
        return ""
    return (f"the machine itself ran x{ratio:.2f} slower during the {slow[0]}'s "
            f"{slow[1].spec.cell} seed {slow[1].spec.seed} (a fixed reference work took "
            f"{slow[1].speed.reference_us:.1f} µs against {fast[1].speed.reference_us:.1f}), "
            f"as much as the speed factor")


def _busy(records: Sequence[RunRecord]) -> float | None:
    values = [r.environment["cpus_busy_during_run"] for r in records
              if r.environment.get("cpus_busy_during_run") is not None]
    return statistics.median(values) if values else None
