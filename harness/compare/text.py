"""The words and numbers of a comparison, shared by the terminal, Markdown and error output."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from harness.compare.environment import Difference
from harness.compare.model import CellComparison, Change, Comparison, RunComparison
from harness.formatting import fmt
from harness.spec import RunSpec

NOT_GATING = "*"
"""Marks a speed change that is reported but does not fail (different machines)."""

Tone = Literal["regression", "improvement", "advisory"] | None
"""How an entry is highlighted; ``advisory``: a change that is reported but does not fail."""


@dataclass(frozen=True)
class Entry:
    text: str
    tone: Tone = None


@dataclass(frozen=True)
class Row:
    entries: list[Entry]
    summary: bool = False
    """A cell over all its seeds, after the rows of those seeds."""


@dataclass(frozen=True)
class TextTable:
    title: str
    columns: list[str]
    rows: list[Row]


def join_values(values: Iterable, limit: int | None = None) -> str:
    shown = sorted(str(v) for v in values)
    if limit is None or len(shown) <= limit:
        return ", ".join(shown)
    return ", ".join(shown[:limit]) + f", ... ({len(shown) - limit} more)"


def difference_text(difference: Difference) -> str:
    return (f"{difference.name}: {join_values(difference.baseline)} (baseline) vs "
            f"{join_values(difference.current)} (current)")


def change_text(change: Change) -> str:
    old, new = _value(change, change.baseline), _value(change, change.current)
    text = old if old == new else f"{old} → {new}"
    if change.ratio is not None:
        p = "p<0.001" if change.p_value < 0.001 else f"p={change.p_value:.2g}"
        text += f" (x{change.ratio:.2f}, {p})"
    return text + (NOT_GATING if not change.gating and change.verdict != "unchanged" else "")


def verdict_text(comparison: RunComparison | CellComparison) -> str:
    """The verdict and the aspects that earned it, e.g. ``regression: accuracy, speed``."""
    verdict = comparison.verdict
    if verdict == "unchanged":
        return verdict
    aspects = dict.fromkeys(c.aspect for c in comparison.changes
                            if c.gating and c.verdict == verdict)
    return f"{verdict}: {', '.join(aspects)}"


def setting(spec: RunSpec) -> str:
    """The task and its parameters, e.g. ``adding length=10``."""
    return " ".join([spec.task, *(f"{k}={v}" for k, v in sorted(spec.task_params.items()))])


def spec_label(spec: RunSpec) -> str:
    return f"{setting(spec)} {spec.cell} seed {spec.seed}"


def title(comparison: RunComparison | CellComparison) -> str:
    if isinstance(comparison, RunComparison):
        return spec_label(comparison.spec)
    return f"{setting(comparison.spec)} {comparison.spec.cell} (all {len(comparison.runs)} seeds)"


def findings(comparison: Comparison) -> list[str]:
    """One line per run, or cell over several seeds, that regressed or improved."""
    lines = []
    several = [cell for cell in comparison.cells if len(cell.runs) > 1]
    for item in [*comparison.runs, *several]:
        if item.verdict != "unchanged":
            changed = [f"{c.metric} {change_text(c)}" for c in item.changes
                       if c.gating and c.verdict == item.verdict]
            lines.append(f"{item.verdict}: {title(item)}: {'; '.join(changed)}")
    lines += [f"{m.verdict}: {m.text()}" for m in comparison.memory if m.verdict != "unchanged"]
    return lines


def headline(comparison: Comparison) -> str:
    """One line: the outcome and its counts."""
    def count(items: list[RunComparison] | list[CellComparison], verdict: str) -> int:
        return sum(item.verdict == verdict for item in items)

    parts = [f"{count(comparison.runs, v)} run(s) and {count(comparison.cells, v)} cell(s) "
             f"{'regressed' if v == 'regression' else 'improved'}"
             for v in ("regression", "improvement")]
    if comparison.only_baseline:
        parts.append(f"{len(comparison.only_baseline)} run(s) of the baseline missing")
    if comparison.only_current:
        parts.append(f"{len(comparison.only_current)} new run(s)")
    fallen = sum(m.verdict == "regression" for m in comparison.memory)
    if fallen:
        parts.append(f"{fallen} memory length(s) fell")
    outcome = "FAIL" if comparison.failed else "OK"
    return f"{outcome}: {len(comparison.runs)} matched run(s); " + "; ".join(parts)


def notes(comparison: Comparison) -> list[str]:
    """What the reader must know to trust the numbers: environment, mode, commits."""
    env = comparison.environment
    lines = []
    if not env.same:
        effect = ("speed changes still fail (--strict-speed)" if comparison.rules.strict_speed
                  else f"speed changes are reported (marked {NOT_GATING}) but do not fail")
        lines.append("the two sides come from different machines, software or thread counts; "
                     + effect + ":")
        lines += [f"  {difference_text(d)}" for d in env.machine + env.software + env.threads]
    reasons = dict.fromkeys(c.note for item in comparison.cells for c in item.changes if c.note)
    if reasons:
        lines.append(f"speed not judged where the load differed (marked {NOT_GATING}):")
        lines += [f"  {reason}" for reason in reasons]
    if comparison.interleaved:
        lines.append("interleaved: step times compared round by round (each round scaled by "
                     "its own median), so drift between rounds cancels")
    old, new = env.commits
    if old or new:
        lines.append(f"commits: baseline {join_values(old) or '-'}; "
                     f"current {join_values(new) or '-'}")
    return lines


def _value(change: Change, value) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if change.metric == "solved":
        return {0.0: "no", 1.0: "yes"}.get(value, f"{value:.0%}")
    return fmt(value)


def tables(comparison: Comparison) -> list[TextTable]:
    """One table per task setting: each cell's runs, then the cell over its seeds."""
    settings: dict[str, list[CellComparison]] = {}
    for cell in comparison.cells:
        settings.setdefault(setting(cell.spec), []).append(cell)
    columns = ["cell", "seed", *(c.metric for c in comparison.cells[0].changes), "verdict"]
    result = []
    for title_, cells in settings.items():
        rows = []
        for cell in cells:
            rows += [Row([Entry(r.spec.cell), Entry(str(r.spec.seed)), *map(_entry, r.changes),
                          _verdict_entry(r)]) for r in cell.runs]
            if len(cell.runs) > 1:
                rows.append(Row([Entry(cell.spec.cell), Entry(_all_seeds(cell)),
                                 *map(_entry, cell.changes), _verdict_entry(cell)],
                                summary=True))
        result.append(TextTable(title_, columns, rows))
    return result


def _entry(change: Change) -> Entry:
    if change.verdict in (None, "unchanged"):
        return Entry(change_text(change))
    return Entry(change_text(change), change.verdict if change.gating else "advisory")


def _verdict_entry(comparison: RunComparison | CellComparison) -> Entry:
    verdict = comparison.verdict
    return Entry(verdict_text(comparison), None if verdict == "unchanged" else verdict)


def _all_seeds(cell: CellComparison) -> str:
    return f"all ({len(cell.runs)})"
