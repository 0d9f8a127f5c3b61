"""Every metric a run record carries, declared once: where the record keeps it, what it
measures, how it is written, how it sums up over seeds, how ``bench compare`` judges it and
which views show it. The tables of ``bench run``, the report (HTML and Markdown) and the
comparison are built from :data:`METRICS`; adding a metric is a record field, the code that
measures it and one declaration here (docs/architecture.md, "Where to add things").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from harness.formatting import fmt
from harness.records import RunRecord
from harness.stats import percentile

Aspect = Literal["accuracy", "speed", "stability", "memory"]
Section = Literal["accuracy", "speed", "stability"]
"""The part of a :class:`~harness.records.RunRecord` that holds the metric."""
View = Literal["terminal", "seeds", "report", "compare"]
"""``terminal``: the per-run table of ``bench run``; ``seeds``: its across-seeds table;
``report``: both tables of the report, HTML and Markdown; ``compare``: ``bench compare``."""
Format = Literal["number", "share", "count", "yes_no"]
OverSeeds = Literal["median", "sum", "share"]
"""``share``: of the runs, those with a true value (a run without the record part counts
as false)."""
Value = float | int | bool | None

ALL_VIEWS: frozenset[View] = frozenset(("terminal", "seeds", "report", "compare"))


@dataclass(frozen=True)
class Rule:
    """How ``bench compare`` judges a change of the metric (:mod:`harness.compare.rules`)."""

    kind: Literal["tolerance", "factor", "count", "speed", "reported"]
    """``tolerance``: an absolute change beyond ``setting``; ``factor``: a change beyond a
    factor of 1 + ``setting`` (for costs); ``count``: any increase of bad events is worse;
    ``speed``: the step-time test; ``reported``: shown, never judged."""
    setting: str = ""
    """The :class:`~harness.compare.rules.Rules` field holding the threshold; none: any
    change counts."""
    final_only: bool = False
    """Not judged when both sides stopped as soon as they solved: their final evaluation
    is wherever the criterion was crossed."""


REPORTED = Rule("reported")


@dataclass(frozen=True)
class Metric:
    section: Section
    field: str
    """The attribute of ``record.<section>``; also the metric's key."""
    aspect: Aspect
    label: str
    """Header in the report, Markdown and comparison; ``{headline}`` is the task's own
    headline name."""
    narrow: str
    """Header in the 80-column terminal tables: short lines, hyphenated words."""
    format: Format = "number"
    over_seeds: OverSeeds = "median"
    higher_is_better: bool | None = None
    rule: Rule = REPORTED
    shown_in: frozenset[View] = ALL_VIEWS
    only_when_measured: bool = False
    """Left out of a table in which no run has a value (a measurement some devices lack)."""
    description: str = ""
    """What it is, for the report's caption."""

    @property
    def key(self) -> str:
        return self.field

    def header(self, headline: str = "headline", narrow: bool = False) -> str:
        return (self.narrow if narrow else self.label).format(headline=headline)

    def value(self, record: RunRecord) -> Value:
        part = getattr(record, self.section)
        return None if part is None else getattr(part, self.field)

    def summarise(self, records: Sequence[RunRecord], measured_only: bool = False) -> Value:
        """The value over several runs of one setting (its seeds, repeats or rounds);
        ``measured_only``: over the runs that have the metric's record part (a failed run has
        none), so that a failure counts against its status alone."""
        if measured_only:
            records = [r for r in records if getattr(r, self.section) is not None]
        values = [self.value(r) for r in records]
        if self.over_seeds == "share":
            return float(np.mean([bool(v) for v in values])) if records else None
        if self.over_seeds == "sum":
            return sum(v for v in values if v is not None)
        return percentile(values, 50)

    def text(self, value: Value, summarised: bool = False) -> str:
        """``value`` as every view writes it; ``summarised``: a value over seeds."""
        if value is None:
            return "-"
        if self.format == "share" or (summarised and self.over_seeds == "share"):
            return f"{value:.0%}"
        if self.format == "yes_no":
            return {0.0: "no", 1.0: "yes"}.get(float(value), f"{value:.0%}")
        if self.format == "count":  # a median of counts may be a whole float; 1,200 as fmt's
            return f"{int(value):,}" if float(value).is_integer() else fmt(value)
        return fmt(value)


def _accuracy(field: str, label: str, narrow: str, **options) -> Metric:
    return Metric("accuracy", field, "accuracy", label, narrow, **options)


def _speed(field: str, label: str, narrow: str, **options) -> Metric:
    return Metric("speed", field, "speed", label, narrow, **options)


def _stability(field: str, label: str, narrow: str, **options) -> Metric:
    return Metric("stability", field, "stability", label, narrow, **options)


def _memory(field: str, label: str, narrow: str, **options) -> Metric:
    return Metric("speed", field, "memory", label, narrow, **options)


METRICS: tuple[Metric, ...] = (
    _accuracy("headline", "{headline}", "{headline}", higher_is_better=True,
              rule=Rule("tolerance", "headline_tolerance", final_only=True)),
    _accuracy("loss_ratio", "loss/baseline", "loss/\nbase-\nline", higher_is_better=False,
              rule=Rule("tolerance", "loss_tolerance", final_only=True)),
    _accuracy("solved", "solved", "sol-\nved", format="yes_no", over_seeds="share",
              higher_is_better=True, rule=Rule("tolerance")),
    _accuracy("steps_to_solve", "steps to solve", "steps\nto\nsolve", format="count",
              higher_is_better=False, rule=Rule("factor", "steps_tolerance"),
              shown_in=frozenset(("terminal", "report", "compare"))),
    _speed("parameter_count", "weights", "weights", shown_in=frozenset(("report",)),
           description="weights: trainable parameters"),
    _speed("step_ms_median", "ms/step", "ms/\nstep", higher_is_better=False,
           rule=Rule("speed"), shown_in=frozenset(("terminal", "report", "compare")),
           description="ms/step: median training step"),
    _speed("tokens_per_second", "tokens/s", "tokens\n/s", higher_is_better=True,
           shown_in=frozenset(("terminal", "report"))),
    _stability("grad_norm_p99", "grad-norm p99", "grad\nnorm\np99"),
    _stability("clipped_fraction", "clipped", "clip-\nped", format="share",
               shown_in=frozenset(("report",)),
               description="clipped: share of steps whose gradient norm was clipped"),
    _stability("nonfinite_events", "non-finite", "non-\nfin.", format="count",
               over_seeds="sum", higher_is_better=False, rule=Rule("count"),
               shown_in=frozenset(("seeds", "report", "compare"))),
    _stability("loss_spikes", "loss spikes", "loss\nspikes", format="count", over_seeds="sum",
               shown_in=frozenset(("seeds", "report"))),
    _memory("peak_rss_mb", "peak RSS MB", "peak\nRSS\nMB", higher_is_better=False,
            description="peak RSS MB: peak resident memory of the process that ran it"),
    _memory("page_faults_per_step", "page faults/step", "page\nfaults\n/step",
            format="count", higher_is_better=False, shown_in=frozenset(("report",)),
            description="page faults/step: median minor page faults of the process in a "
                        "timed step (first touches of freshly allocated memory)"),
    _memory("device_peak_mb", "device peak MB", "dev.\npeak\nMB", higher_is_better=False,
            only_when_measured=True,
            description="device peak MB: peak memory allocated on the accelerator"),
)


def shown_in(view: View) -> list[Metric]:
    """The metrics ``view`` shows, in declaration order (read when called, so that a
    declaration added at run time shows too)."""
    return [m for m in METRICS if view in m.shown_in]


def measured(metrics: Iterable[Metric], records: Sequence[RunRecord]) -> list[Metric]:
    """``metrics`` less those that only show when measured and no run measured."""
    return [m for m in metrics if not m.only_when_measured
            or any(m.value(r) is not None for r in records)]


def metric(key: str) -> Metric:
    return next(m for m in METRICS if m.key == key)
