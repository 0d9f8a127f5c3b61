"""What a conformance check is, and what running one gives: a typed, one-line result.

A check function returns a short detail on success and raises :class:`CheckFailed` (what
is wrong and how to fix it) or :class:`CheckSkipped` (why it cannot run here). Any other
exception is the plugin's: :meth:`PlannedCheck.run` turns it into a failure that names
where it was raised, so one broken cell never stops the others' checks.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["passed", "failed", "skipped"]


class CheckFailed(Exception):
    def __init__(self, message: str, fix: str = ""):
        super().__init__(message)
        self.message = message
        self.fix = fix


class CheckSkipped(Exception):
    """The check cannot run here; the message says why."""


@dataclass(frozen=True)
class CheckResult:
    subject: str
    """The qualified cell (``torch:lstm``), backend (``torch``) or plugin checked."""
    check: str
    outcome: Outcome
    message: str = ""
    """On success a short detail, otherwise what went wrong or why it was skipped."""
    fix: str = ""
    """How to fix a failure."""

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    def describe(self) -> str:
        """``subject check: message`` and, for a failure, the fix on a second line."""
        text = f"{self.subject} {self.check}: {self.message}"
        return f"{text}\n  fix: {self.fix}" if self.failed and self.fix else text

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    name: str
    function: Callable[[Any], str]
    """Takes the subject's fixture; returns a detail, raises CheckFailed or CheckSkipped."""
    fix: str
    """The contract to honour, shown when the subject raised instead of answering."""
    prerequisite: bool = False
    """Whether the subject's later checks need it to pass: when it fails they are skipped,
    saying so, rather than failed with fixes that point elsewhere (a cell that cannot be
    built fails every check, each with its own check's fix)."""


@dataclass(frozen=True)
class PlannedCheck:
    """One check bound to its subject: what ``bench check`` runs and pytest parametrises."""

    subject: str
    check: Check
    target: Any

    @property
    def id(self) -> str:
        return f"{self.subject}-{self.check.name}"

    def run(self) -> CheckResult:
        blocked = getattr(self.target, BLOCKED_BY, None)
        if blocked is not None:
            return CheckResult(self.subject, self.check.name, "skipped",
                               f"{blocked} failed, and this check needs it: fix that first")
        found = self._run()
        if found.failed and self.check.prerequisite:
            setattr(self.target, BLOCKED_BY, self.check.name)
        return found

    def _run(self) -> CheckResult:
        def result(outcome: Outcome, message: str, fix: str = "") -> CheckResult:
            return CheckResult(self.subject, self.check.name, outcome, message, fix)

        try:
            return result("passed", self.check.function(self.target))
        except CheckSkipped as skip:
            return result("skipped", str(skip))
        except CheckFailed as failure:
            return result("failed", failure.message, failure.fix)
        except Exception as exc:  # the plugin's error is the finding, not a crash of the kit
            return result("failed", f"raised {describe_exception(exc)}", self.check.fix)


BLOCKED_BY = "blocked_by_failed_check"
"""The attribute a subject's fixture gets, naming its failed prerequisite check."""


def describe_exception(exc: BaseException) -> str:
    """``Type: message (at file.py:line)``, the line being the innermost frame raising it."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line}{where}"
