"""Published findings as checkable claims, judged on the records of a suite's runs.

A reproduce suite is a suite file (:mod:`harness.suites`) that also states, beside its
runs, the findings they test::

    expected_minutes = 12        # measured on a 2-core CPU, for bench reproduce --list
    full_size = "..."            # the paper's size: the command and its time on a GPU

    [[claims]]
    text = "On adding T=100 the LSTM solves the task; the tanh RNN stays at the baseline"
    source = "Arjovsky, Shah & Bengio 2016, Unitary Evolution RNNs, ICML, Figure 2"
    task = "adding"
    length = 100
    checks = [{cell = "torch:lstm", is = "solves"},
              {cell = "torch:rnn", is = "loss_ratio_above", ratio = 0.9}]

A claim is reproduced when every check holds. A check is judged over the runs of its cell
at the claim's task and length (its seeds: a suite runs a cell once per setting), by the
rules of ``bench run``: a length is solved (or remembered, by the memory test of
:mod:`harness.memory`) when at least half of the seeds did
(:data:`harness.sweep.SOLVED_SHARE`); a loss ratio is the median over the seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UnknownNameError, UsageError
from harness.formatting import fmt, plural
from harness.metrics import metric
from harness.records import RunRecord
from harness.spec import RunSpec
from harness.suites import PACKAGED_SUITES_DIR, SUITES_DIR, Suite, load_suite
from harness.sweep import LengthVerdict, length_verdict, memory_lengths
from harness.tasks import LENGTH_PARAMETER

CONDITIONS = {
    "solves": "solves",
    "does_not_solve": "does not solve",
    "remembers": "remembers",
    "does_not_remember": "does not remember",
    "loss_ratio_below": "loss/baseline below",
    "loss_ratio_above": "loss/baseline at or above",
    "remembers_longer_than": "remembers longer than",
}
"""What a check can state about a cell, and how it reads."""
NEEDS_RATIO = ("loss_ratio_below", "loss_ratio_above")
NEEDS_OTHER_CELL = ("remembers_longer_than",)
SUITE_FILE = "reproduce-suite.toml"
"""The suite as run, copied into the results directory: ``bench report`` judges its claims
on the records there."""


@dataclass(frozen=True)
class Check:
    cell: str
    condition: str
    """One of :data:`CONDITIONS`."""
    ratio: float | None = None
    than: str | None = None
    """The other cell of ``remembers_longer_than``."""

    @property
    def text(self) -> str:
        tail = (f" {self.ratio:g}" if self.condition in NEEDS_RATIO else
                f" {self.than}" if self.condition in NEEDS_OTHER_CELL else "")
        return f"{self.cell} {CONDITIONS[self.condition]}{tail}"


@dataclass(frozen=True)
class Claim:
    text: str
    source: str
    task: str
    length: int | None
    checks: tuple[Check, ...]

    @property
    def setting(self) -> str:
        return self.task + ("" if self.length is None else f" T={self.length}")


@dataclass(frozen=True)
class ReproduceSuite:
    name: str
    suite: Suite
    claims: tuple[Claim, ...]
    expected_minutes: float | None = None
    """On a shared 2-core CPU, as measured when the suite was first run."""
    full_size: str = ""
    """What a CPU cannot do in an hour: the paper's size, its command and time on a GPU."""


@dataclass(frozen=True)
class CheckOutcome:
    check: Check
    holds: bool | None
    """None: no finished run to judge it on."""
    measured: str


@dataclass(frozen=True)
class ClaimOutcome:
    claim: Claim
    checks: list[CheckOutcome] = field(default_factory=list)

    @property
    def reproduced(self) -> bool | None:
        """True when every check holds, False when one does not, None when none failed but
        one could not be judged."""
        holds = [c.holds for c in self.checks]
        return False if False in holds else None if None in holds else True

    @property
    def verdict(self) -> str:
        return {True: "reproduced", False: "NOT reproduced", None: "not judged"}[
            self.reproduced]


def suite_names() -> list[str]:
    """The suites with claims: the project's (``results/suites/``) and bench's own."""
    names = []
    for path in sorted([*SUITES_DIR.glob("*.toml"), *PACKAGED_SUITES_DIR.glob("*.toml")]):
        try:
            if load_suite(str(path)).findings.get("claims"):
                names.append(path.stem)
        except UsageError:
            continue
    return names


NO_SUITES_HERE = f"there is no {SUITES_DIR}/ here (run from the project's root)"
"""Why no reproduce suite is found by name: the suites are the project's files."""


def load_reproduce_suite(name_or_path: str) -> ReproduceSuite:
    try:
        suite = load_suite(name_or_path)
    except UnknownNameError:
        if not suite_names():
            raise UsageError(f"unknown reproduce suite {name_or_path!r}: "
                             f"{NO_SUITES_HERE}") from None
        raise UnknownNameError("reproduce suite", name_or_path, suite_names(),
                               where=f" in {SUITES_DIR}/") from None
    findings = suite.findings
    where = str(suite.path)
    claims = findings.get("claims")
    if not isinstance(claims, list) or not claims:
        raise UsageError(f"{where}: no [[claims]] to reproduce (bench run --suite runs it)")
    minutes = findings.get("expected_minutes")
    if minutes is not None and not (isinstance(minutes, (int, float)) and minutes > 0):
        raise UsageError(f"{where}: expected_minutes must be a positive number, got {minutes!r}")
    return ReproduceSuite(
        name=suite.path.stem, suite=suite,
        claims=tuple(_claim(where, number, entry) for number, entry in enumerate(claims, 1)),
        expected_minutes=minutes, full_size=_text(where, "full_size", findings, required=False))


def _text(where: str, key: str, entry: dict[str, Any], required: bool = True) -> str:
    value = entry.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise UsageError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value


def _claim(path: str, number: int, entry: Any) -> Claim:
    where = f"{path}: [[claims]] entry {number}"
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: must be a table, got {entry!r}")
    unknown = sorted(set(entry) - {"text", "source", "task", "length", "checks"})
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (valid: text, source, task, "
                         f"length, checks)")
    length = entry.get("length")
    if length is not None and not (isinstance(length, int) and length > 0):
        raise UsageError(f"{where}: length must be a positive integer, got {length!r}")
    checks = entry.get("checks")
    if not isinstance(checks, list) or not checks:
        raise UsageError(f"{where}: 'checks' must be a non-empty array of tables, e.g. "
                         f"[{{cell = \"torch:lstm\", is = \"solves\"}}]")
    return Claim(_text(where, "text", entry), _text(where, "source", entry),
                 _text(where, "task", entry), length,
                 tuple(_check(where, length, check) for check in checks))


def _check(where: str, length: int | None, entry: Any) -> Check:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: a check must be a table, got {entry!r}")
    condition = entry.get("is")
    if condition not in CONDITIONS:
        raise UsageError(f"{where}: unknown check {condition!r} (valid: "
                         f"{', '.join(CONDITIONS)})")
    ratio, than = entry.get("ratio"), entry.get("than")
    if (condition in NEEDS_RATIO) != isinstance(ratio, (int, float)) or isinstance(ratio, bool):
        raise UsageError(f"{where}: check {condition!r} " + (
            "needs a number 'ratio'" if condition in NEEDS_RATIO else "takes no 'ratio'"))
    if (condition in NEEDS_OTHER_CELL) != isinstance(than, str):
        raise UsageError(f"{where}: check {condition!r} " + (
            "needs the other cell, 'than'" if condition in NEEDS_OTHER_CELL
            else "takes no 'than'"))
    if condition not in NEEDS_OTHER_CELL and length is None:
        raise UsageError(f"{where}: check {condition!r} needs the claim's 'length'")
    unknown = sorted(set(entry) - {"cell", "is", "ratio", "than"})
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} in a check (valid: cell, is, "
                         f"ratio, than)")
    return Check(_text(where, "cell", entry), condition,
                 None if ratio is None else float(ratio), than)


def check_claims_are_run(suite: ReproduceSuite, specs: Sequence[RunSpec]) -> None:
    """UsageError, before any run, for a check of a cell at a setting the suite never runs
    (it was judged "no finished run" after every run was done)."""
    for number, claim in enumerate(suite.claims, 1):
        for check in claim.checks:
            for cell in filter(None, (check.cell, check.than)):
                if not any(_at(spec, cell, claim.task, claim.length) for spec in specs):
                    ran = sorted({spec.cell for spec in specs if spec.task == claim.task})
                    raise UsageError(
                        f"{suite.suite.path}: claim {number} checks {cell} at "
                        f"{claim.setting}, which the suite's runs do not include (they run "
                        f"{', '.join(ran) or 'no cell'} on {claim.task})")


def judge(claims: Sequence[Claim], records: Sequence[RunRecord]) -> list[ClaimOutcome]:
    """Each claim's outcome on ``records`` (any records: those of other settings are ignored)."""
    return [ClaimOutcome(claim, [_judge_check(claim, check, records) for check in claim.checks])
            for claim in claims]


def _runs(records: Sequence[RunRecord], cell: str, task: str,
          length: int | None) -> list[RunRecord]:
    return [r for r in records if _at(r.spec, cell, task, length)]


def _at(spec: RunSpec, cell: str, task: str, length: int | None) -> bool:
    """Whether ``spec`` is a run of ``cell`` on ``task`` (at ``length``, unless None)."""
    return spec.cell == cell and spec.task == task and (
        length is None or spec.task_params.get(LENGTH_PARAMETER) == length)


LOSS_RATIO = metric("loss_ratio")
"""Summed up over seeds as ``bench run``'s tables do (the median of the finite values)."""


def _judge_check(claim: Claim, check: Check, records: Sequence[RunRecord]) -> CheckOutcome:
    if check.condition in NEEDS_OTHER_CELL:
        return _judge_longer(claim, check, records)
    runs = _runs(records, check.cell, claim.task, claim.length)
    finished = [r for r in runs if r.accuracy is not None]
    if not finished:
        return CheckOutcome(check, None, f"no finished run of {check.cell} at {claim.setting}"
                            + (f" ({len(runs)} failed)" if runs else ""))
    verdict = length_verdict(claim.length, finished)
    ratio = LOSS_RATIO.summarise(finished)
    holds = _CONDITION_TESTS[check.condition](verdict, ratio, check.ratio)
    return CheckOutcome(check, holds, _measured(verdict, ratio, finished))


_CONDITION_TESTS: dict[str, Callable[[LengthVerdict, float | None, float | None],
                                     bool | None]] = {
    "solves": lambda v, ratio, limit: v.solved,
    "does_not_solve": lambda v, ratio, limit: not v.solved,
    "remembers": lambda v, ratio, limit: v.remembered,
    "does_not_remember": lambda v, ratio, limit: not v.remembered,
    "loss_ratio_below": lambda v, ratio, limit: None if ratio is None else ratio < limit,
    "loss_ratio_above": lambda v, ratio, limit: None if ratio is None else ratio >= limit,
}


def _measured(verdict: LengthVerdict, ratio: float | None, runs: Sequence[RunRecord]) -> str:
    """The evidence of one cell at one setting, in words."""
    seeds = len(runs)
    solved = sum(bool(r.accuracy.solved) for r in runs)
    at = sorted(r.accuracy.steps_to_solve for r in runs if r.accuracy.steps_to_solve)
    solved_text = f"solved by {solved} of {plural(seeds, 'seed')}" + (
        f" (at step {', '.join(map(str, at))})" if at else "")
    headline = runs[0].accuracy.headline_name
    memory = (f"remembered by {round(verdict.remembered_share * seeds)} of {seeds} "
              f"({headline} {fmt(verdict.headline)} vs chance {fmt(runs[0].accuracy.chance)})")
    steps = max(r.steps_done for r in runs)
    return f"loss/baseline {fmt(ratio)}; {solved_text}; {memory}; {plural(steps, 'step')}"


def _judge_longer(claim: Claim, check: Check, records: Sequence[RunRecord]) -> CheckOutcome:
    lengths, said = {}, []
    for cell in (check.cell, check.than):
        runs = [r for r in _runs(records, cell, claim.task, None) if r.accuracy is not None]
        if not runs:
            return CheckOutcome(check, None, f"no finished run of {cell} on {claim.task}")
        (memory,) = memory_lengths(runs)
        longest = memory.remembers_up_to
        lengths[cell] = 0 if longest is None else longest.length
        tried = ", ".join(f"T={length}" for length in memory.verdicts)
        said.append(f"{cell} remembers up to T={longest.length}" if longest else
                    f"{cell} remembers none of the lengths tried ({tried})")
    measured = "; ".join(said)
    return CheckOutcome(check, lengths[check.cell] > lengths[check.than], measured)


def answer(suite: ReproduceSuite, outcomes: Sequence[ClaimOutcome]) -> str:
    """The line a user would repeat: how many of the suite's claims bench reproduced."""
    reproduced = [n for n, o in enumerate(outcomes, 1) if o.reproduced]
    others = {verdict: [str(n) for n, o in enumerate(outcomes, 1) if o.verdict == verdict]
              for verdict in ("NOT reproduced", "not judged")}
    rest = "".join(f"; {verdict}: claim{'' if len(numbers) == 1 else 's'} {', '.join(numbers)}"
                   for verdict, numbers in others.items() if numbers)
    return (f"bench reproduced {len(reproduced)} of {len(outcomes)} published claims of "
            f"{suite.name}{rest}.")


def outcome_json(suite: ReproduceSuite, outcomes: Sequence[ClaimOutcome]) -> dict[str, Any]:
    return {
        "suite": suite.name,
        "answer": answer(suite, outcomes),
        "claims": [{
            "text": o.claim.text, "source": o.claim.source, "task": o.claim.task,
            "length": o.claim.length, "reproduced": o.reproduced,
            "checks": [{"cell": c.check.cell, "is": c.check.condition, "ratio": c.check.ratio,
                        "than": c.check.than, "holds": c.holds, "measured": c.measured}
                       for c in o.checks],
        } for o in outcomes],
    }


def suite_copy(results_dir: Path) -> Path:
    return results_dir / SUITE_FILE
