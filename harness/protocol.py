"""The parts of a training protocol beyond the optimiser's name and learning rate: the
initialisation scheme and the learning-rate schedule (docs/protocols.md).

Both backends read them from here, so one spec trains the same way in each framework.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.errors import UsageError

INITS = ("canonical", "framework")
"""``canonical``: bench's seeded weights (harness.canonical), the same in every backend;
``framework``: the weights the framework's own layers draw, seeded by the run's seed (they
differ between frameworks, so only the protocol, not the weights, is shared)."""

SCHEDULES = ("constant", "step:EVERY:FACTOR", "cosine")


@dataclass(frozen=True)
class LrSchedule:
    """The learning rate after ``t`` applied updates: ``lr * factor_at(t)``.

    ``step``: multiplied by ``factor`` every ``every`` updates (a staircase);
    ``cosine``: ``0.5 * (1 + cos(pi * t / total))``, from ``lr`` down to 0 at the run's last
    step (Loshchilov & Hutter's SGDR without restarts)."""

    kind: str = "constant"
    every: int = 0
    factor: float = 1.0

    @classmethod
    def parse(cls, text: str) -> LrSchedule:
        kind, *args = text.split(":")
        if kind in ("constant", "cosine") and not args:
            return cls(kind)
        if kind == "step" and len(args) == 2:
            every, factor = _number(args[0], int), _number(args[1], float)
            if every is not None and every >= 1 and factor is not None and 0 < factor <= 1:
                return cls(kind, every, factor)
        raise UsageError(f"--lr-schedule {text!r} is not a schedule (valid: "
                         f"{', '.join(SCHEDULES)}; EVERY a whole number >= 1, FACTOR in "
                         f"(0, 1], e.g. step:1000:0.5)")

    def factor_at(self, updates: int, total: int) -> float:
        """The learning rate's multiplier after ``updates`` applied updates of ``total``."""
        if self.kind == "step":
            return self.factor ** (updates // self.every)
        if self.kind == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(updates, total) / total))
        return 1.0


def check_init(init: str) -> None:
    if init not in INITS:
        raise UsageError(f"unknown --init {init!r} (valid: {', '.join(INITS)})")


def _number(text: str, kind: type) -> float | int | None:
    try:
        value = kind(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
