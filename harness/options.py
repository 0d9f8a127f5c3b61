"""The options every standard cell accepts (docs/architecture.md §5), parsed the same way by
each backend before it builds anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

from harness.errors import UnknownNameError, UsageError
from harness.registry import STANDARD_OPTIONS


@dataclass(frozen=True)
class CellOptions:
    dropout: float = 0.0
    """Fraction of input features dropped; one mask per sequence, shared over time."""
    recurrent_dropout: float = 0.0
    """Fraction of the previous state dropped before the recurrent kernel; one mask per
    sequence. Any non-zero value rules out the fused kernel."""

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> CellOptions:
        for name in options:
            if name not in STANDARD_OPTIONS:
                raise UnknownNameError("cell option", name, STANDARD_OPTIONS)
        return cls(**{name: _rate(name, value) for name, value in options.items()})


def _rate(name: str, raw: Any) -> float:
    number = isinstance(raw, Real) and not isinstance(raw, bool)
    if not (number and 0.0 <= raw < 1.0):
        raise UsageError(f"{name} must be a number in [0, 1), got {raw!r}")
    return float(raw)
