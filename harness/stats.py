"""Summary statistics over per-step samples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FAST_END = 5
"""The percentile at which times are compared: other processes, or a neighbour on a shared
machine, only ever add time, so the fast end moves least with them (harness.compare.speed)."""


def percentile(values: Sequence[float], q: float) -> float | None:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(np.percentile(finite, q)) if finite.size else None


def count_spikes(losses: Sequence[float], factor: float = 3.0, window: int = 50,
                 min_history: int = 10) -> int:
    """Steps whose loss exceeds ``factor`` times the median of the preceding ``window``."""
    values = np.asarray(losses, dtype=float)
    spikes = 0
    for step in range(min_history, values.size):
        history = values[max(0, step - window):step]
        history = history[np.isfinite(history)]
        if history.size and np.isfinite(values[step]) and values[step] > factor * np.median(
            history
        ):
            spikes += 1
    return spikes
