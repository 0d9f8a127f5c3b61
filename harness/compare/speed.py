"""Step-time comparison over the per-step samples that records keep.

The change is read at the fast end of the samples, their 5th percentile: other processes,
a neighbour on a shared VM or a slower session only ever add time to a step, while a real
slowdown moves every step, the fastest too. Measured on a 2-core VM over 8 sessions of the
CI suite, a ratio beyond x1.1 happened between identical code in 11-19% of the runs at the
median and in 2-3% at the 5th percentile (results/README.md).

The samples come in blocks of (baseline, current): one block per run, or, for sides
measured alternately on one machine, one block per round. Each block is scaled by its own
median (both sides together) before the blocks are pooled, so a machine that drifts from
round to round moves both sides alike and drops out. Scaling changes nothing within a
block: the test is rank-based and a ratio of percentiles is scale-free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from harness.stats import FAST_END

Block = tuple[Sequence[float], Sequence[float]]


@dataclass(frozen=True)
class SpeedChange:
    baseline_ms: float
    """The fast end (5th percentile) of the baseline's raw step times."""
    current_ms: float
    ratio: float
    """Fast end of current ÷ fast end of baseline, over the scaled, pooled samples."""
    p_value: float
    """Two-sided Mann–Whitney U test of the scaled, pooled samples."""
    samples: tuple[int, int]


def compare_speed(blocks: Iterable[Block]) -> SpeedChange | None:
    """None when no block has step times on both sides."""
    from scipy.stats import mannwhitneyu  # scipy takes a while to import; only compare needs it

    raw: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    scaled: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for baseline, current in blocks:
        sides = np.asarray(baseline, dtype=float), np.asarray(current, dtype=float)
        if not (sides[0].size and sides[1].size):
            continue
        scale = float(np.median(np.concatenate(sides)))
        if scale <= 0:
            continue
        for side, values in enumerate(sides):
            raw[side].append(values)
            scaled[side].append(values / scale)
    if not raw[0]:
        return None
    base, cur = np.concatenate(scaled[0]), np.concatenate(scaled[1])
    return SpeedChange(
        baseline_ms=_fast_end(np.concatenate(raw[0])),
        current_ms=_fast_end(np.concatenate(raw[1])),
        ratio=_fast_end(cur) / _fast_end(base),
        p_value=float(mannwhitneyu(cur, base, alternative="two-sided").pvalue),
        samples=(base.size, cur.size),
    )


def _fast_end(values: np.ndarray) -> float:
    return float(np.percentile(values, FAST_END))
