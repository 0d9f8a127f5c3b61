"""The words and numbers of a comparison, shared by the terminal, Markdown and error output."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.compare.environment import Difference
from harness.compare.model import CellComparison, Change, Comparison, RunComparison
from harness.formatting import fmt, plural
from harness.metrics import metric
from harness.spec import RunSpec
from harness.stats import FAST_END
from harness.table_model import Column, Table, Tone, Toned, tone_of

NOT_GATING = "*"
"""Marks a speed change that is reported but does not fail (different machines)."""

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


def cell_name(spec: RunSpec, labels: Mapping[str, str]) -> str:
    """The run's cell as ``labels`` (:attr:`Comparison.labels`) names it."""
    return labels.get(spec.run_id, spec.cell)


def spec_label(spec: RunSpec, labels: Mapping[str, str]) -> str:
    return f"{setting(spec)} {cell_name(spec, labels)} seed {spec.seed}"


def title(comparison: RunComparison | CellComparison, labels: Mapping[str, str]) -> str:
    if isinstance(comparison, RunComparison):
        return spec_label(comparison.spec, labels)
    return (f"{setting(comparison.spec)} {cell_name(comparison.spec, labels)} "
            f"({'all ' if len(comparison.runs) > 1 else ''}{plural(len(comparison.runs), 'seed')})")


def findings(comparison: Comparison) -> list[str]:
    """One line per run, or cell over several seeds, that regressed or improved."""
    lines = []
    several = [cell for cell in comparison.cells if len(cell.runs) > 1]
    for item in [*comparison.runs, *several]:
        if item.verdict != "unchanged":
            changed = [f"{c.metric} {change_text(c)}" for c in item.changes
                       if c.gating and c.verdict == item.verdict]
            lines.append(f"{item.verdict}: {title(item, comparison.labels)}: "
                         f"{'; '.join(changed)}")
    lines += [f"{m.verdict}: {m.text()}" for m in comparison.memory if m.verdict != "unchanged"]
    return lines


def headline(comparison: Comparison) -> str:
    """The line a user repeats: the outcome, what regressed or improved by name, and whether
    speed was judged at all, since an "OK" whose speed went unjudged promises less."""
    parts = []
    for verdict, did in (("regression", "regressed"), ("improvement", "improved")):
        named = [f"{cell_name(cell.spec, comparison.labels)} on {setting(cell.spec)} "
                 f"({', '.join(aspects)})"
                 for cell in comparison.cells if (aspects := _aspects(cell, verdict))]
        if named:
            parts.append(f"{did}: {', '.join(named)}")
    fallen = [m.text() for m in comparison.memory if m.verdict == "regression"]
    if fallen:
        parts.append(f"memory fell: {', '.join(fallen)}")
    if comparison.only_baseline:
        parts.append(f"{plural(len(comparison.only_baseline), 'run')} of the baseline missing")
    if comparison.only_current:
        parts.append(plural(len(comparison.only_current), "new run"))
    matched = plural(len(comparison.runs), "matched run")
    parts.insert(0, matched if parts else f"{matched}, no change beyond the rules")
    outcome = "FAIL" if comparison.failed else "OK"
    return f"{outcome}: {'; '.join(parts)}{_speed_unjudged(comparison)}."


def _aspects(cell: CellComparison, verdict: str) -> list[str]:
    """What changed with ``verdict`` in the cell over its seeds or in any of its runs."""
    changes = [c for item in (cell, *cell.runs) for c in item.changes]
    return list(dict.fromkeys(c.aspect for c in changes if c.gating and c.verdict == verdict))


def _speed_unjudged(comparison: Comparison) -> str:
    """Why speed could not fail, and how many runs were slower all the same; "" if judged."""
    speed = [c for run in comparison.runs for c in run.changes if c.aspect == "speed"]
    unjudged = [c for c in speed if not c.gating and c.verdict is not None]
    if not unjudged:
        return ""
    reason = ("the sides differ in machine, software or threads" if not comparison.speed_gates
              else unjudged[0].note)
    slower = sum(c.verdict == "regression" for c in unjudged)
    marked = f" (marked {NOT_GATING})" if slower else ""
    which = "" if len(unjudged) == len(speed) else f" for {len(unjudged)} of them"
    return (f"; speed not judged{which}, {slower} of {plural(len(speed), 'run')} slower than the "
            f"rules allow{marked}: {reason}")


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
        lines.append("speed not judged where other processes or the machine itself slowed a "
                     f"side, or the sides' loads differed (a change there is marked "
                     f"{NOT_GATING} and does not fail):")
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
    if not change.key:
        return fmt(value)
    return metric(change.key).text(value, summarised=change.over_seeds)


SPEED_CAPTION = (f"ms/step: the fast end ({FAST_END}th percentile) of the step times, where "
                 "other processes add least")

TONES: dict[str, Tone] = {"regression": "bad", "improvement": "good", "advisory": "warning"}


def tables(comparison: Comparison) -> list[Table]:
    """One table per task setting: each cell's runs, then the cell over its seeds."""
    settings: dict[str, list[CellComparison]] = {}
    for cell in comparison.cells:
        settings.setdefault(setting(cell.spec), []).append(cell)
    columns_of = comparison.cells[0].changes
    columns = [Column("cell", fold=False), Column("seed", "right"),
               *(Column(c.metric, "right", narrow=metric(c.key).header(narrow=True)) if c.key
                 else Column(c.metric) for c in columns_of), Column("verdict")]
    result = []
    for title_, cells in settings.items():
        table = Table(title_, columns, key_columns=2)
        for cell in cells:
            table.rows += [[cell_name(r.spec, comparison.labels), str(r.spec.seed),
                            *map(_entry, r.changes),
                            _verdict_entry(r)] for r in cell.runs]
            if len(cell.runs) > 1:
                table.rows.append([cell_name(cell.spec, comparison.labels), _all_seeds(cell),
                                   *map(_entry, cell.changes),
                                   _verdict_entry(cell)])
                table.summary_rows.add(len(table.rows) - 1)
        captions = [SPEED_CAPTION] if any(c.aspect == "speed" for c in columns_of) else []
        if any(tone_of(c) == "warning" for row in table.rows for c in row):
            captions.append(f"{NOT_GATING} reported, does not fail")
        table.caption = "; ".join(captions)
        result.append(table)
    return result


def _entry(change: Change) -> str:
    if change.verdict in (None, "unchanged"):
        return change_text(change)
    return Toned(change_text(change), TONES[change.verdict if change.gating else "advisory"])


def _verdict_entry(comparison: RunComparison | CellComparison) -> str:
    verdict = comparison.verdict
    text = verdict_text(comparison)
    return text if verdict == "unchanged" else Toned(text, TONES[verdict])


def _all_seeds(cell: CellComparison) -> str:
    return f"all ({len(cell.runs)})"
