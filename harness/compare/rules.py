"""When a difference between two runs counts as a regression or an improvement.

Accuracy under fixed seeds is (nearly) deterministic, so it is compared by tight
tolerances. Step time is noisy, so a speed change must pass both a factor and a
Mann–Whitney U test over the per-step samples (as asv does); speed only gates when both
sides were measured on the same machine with the same framework versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness import metrics
from harness.metrics import Metric, Value

Verdict = Literal["regression", "improvement", "unchanged"]

STATUS_RANK = {"ok": 0, "diverged": 1, "failed": 2}
"""Worse statuses rank higher."""


@dataclass(frozen=True)
class Rules:
    headline_tolerance: float = 0.02
    """Absolute change of the headline metric (an accuracy: higher is better) that counts."""
    loss_tolerance: float = 0.05
    """Absolute change of loss ÷ baseline that counts (0.05 = 5% of the memoryless loss)."""
    steps_tolerance: float = 0.25
    """Relative change of the steps needed to solve the task that counts."""
    speed_factor: float = 1.1
    """The fast end (5th percentile) of the step times must change by more than this factor
    (asv's default)..."""
    alpha: float = 0.01
    """...and the two-sided Mann–Whitney U test over the step samples must give p below this."""
    strict_speed: bool = False
    """Let speed gate even when the machines or framework versions differ."""

    def describe(self) -> list[str]:
        """What counts as a regression, in words, for --help and reports."""
        gating = ("always, with --strict-speed" if self.strict_speed
                  else "else it is only reported, unless --strict-speed")
        return [
            f"accuracy: the headline metric falls by more than {self.headline_tolerance:g} or "
            f"loss/baseline rises by more than {self.loss_tolerance:g} (absolute), a solved "
            f"run no longer solves, or the steps to solve grow by more than "
            f"{self.steps_tolerance:.0%} (a run that stopped early once solved, on both sides, "
            f"is judged by its steps to solve alone)",
            f"speed: the fast end of the step times (their 5th percentile, as noise only adds "
            f"time) grows by more than x{self.speed_factor:g} and a "
            f"two-sided Mann-Whitney U test over the per-step times gives p < {self.alpha:g}, "
            f"when both sides come from one machine, the same framework versions and thread "
            f"counts, other processes left each side's threads their CPUs under a like load, "
            f"and the machine itself (a fixed reference work timed beside the steps) did not "
            f"run slower by the factor ({gating})",
            "stability: new non-finite loss or gradient events, or a worse status "
            "(ok < diverged < failed)",
            "reported, never judged: " + ", ".join(
                m.header() for m in metrics.shown_in("compare") if m.rule.kind == "reported"),
            "a run of BASELINE missing from CURRENT (a lost measurement)",
        ]


def judge(metric: Metric, baseline: Value, current: Value, rules: Rules) -> Verdict | None:
    """The verdict of ``metric``'s declared rule (not ``speed``, judged on the step times);
    None when it is only reported or a side has no value."""
    rule = metric.rule
    threshold = getattr(rules, rule.setting) if rule.setting else 0.0
    if rule.kind == "tolerance":
        return by_tolerance(baseline, current, threshold, bool(metric.higher_is_better))
    if rule.kind == "factor":
        return by_ratio(baseline, current, threshold)
    if rule.kind == "count":
        return by_count(baseline, current)
    return None


def by_tolerance(baseline: float | None, current: float | None, tolerance: float,
                 higher_is_better: bool) -> Verdict | None:
    """None when either side has no value."""
    if baseline is None or current is None:
        return None
    gain = current - baseline if higher_is_better else baseline - current
    return _verdict(worse=gain < -tolerance, better=gain > tolerance)


def by_ratio(baseline: float | None, current: float | None, tolerance: float) -> Verdict | None:
    """For costs (lower is better): a change beyond a factor of ``1 + tolerance`` counts."""
    if not baseline or current is None:
        return None
    ratio = current / baseline
    return _verdict(worse=ratio > 1 + tolerance, better=ratio < 1 / (1 + tolerance))


def by_count(baseline: float | None, current: float | None) -> Verdict | None:
    """For counts of bad events and status ranks: any increase is worse."""
    if baseline is None or current is None:
        return None
    return _verdict(worse=current > baseline, better=current < baseline)


def by_speed(ratio: float, p_value: float, rules: Rules) -> Verdict:
    significant = p_value < rules.alpha
    return _verdict(worse=significant and ratio > rules.speed_factor,
                    better=significant and ratio < 1 / rules.speed_factor)


def _verdict(worse: bool, better: bool) -> Verdict:
    return "regression" if worse else "improvement" if better else "unchanged"
