"""The options every Keras cell accepts (DESIGN.md §4), checked before any layer is built."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import UnknownNameError, UsageError
from harness.registry import STANDARD_OPTIONS


@dataclass(frozen=True)
class CellOptions:
    dropout: float = 0.0
    """Keras's ``dropout``: input features dropped, one mask per sequence."""
    recurrent_dropout: float = 0.0
    """Keras's ``recurrent_dropout``: one mask per sequence on the state entering the
    recurrent kernel. Keras runs its generic step loop (never cuDNN) when it is non-zero."""

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> CellOptions:
        for name in options:
            if name not in STANDARD_OPTIONS:
                raise UnknownNameError("cell option", name, STANDARD_OPTIONS)
        return cls(**{name: _rate(name, value) for name, value in options.items()})


def _rate(name: str, raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value < 1.0:
        raise UsageError(f"{name} must be a number in [0, 1), got {raw!r}")
    return value
