"""Whether a trained cell remembers: its held-out headline against the task's chance level.

A run *remembers* at its length when the mean of its per-example headline scores beats the
task's chance (memoryless) level by more than the held-out set's sampling noise: a one-sided
test over the held-out examples at :data:`SIGNIFICANCE`, and a margin of at least
:data:`MIN_MARGIN`. The examples are the units of the test, not the positions inside them:
the ten recalled symbols of one copy sequence share one hidden state and are correlated, so
counting them as ten independent trials would overstate the evidence.

- Scores that are all 0 or 1 (adding, digits): an exact one-sided binomial test.
- Fractional scores (the share of an example's positions recalled): a one-sided one-sample
  t-test of their mean; with hundreds of examples the mean is close to normal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIGNIFICANCE = 0.01
"""A run remembers only if the p-value of "no better than chance" is below this."""
MIN_MARGIN = 0.02
"""...and its headline is at least this far above chance (in headline units): with a large
held-out set a tiny, meaningless edge would otherwise count."""


@dataclass(frozen=True)
class MemoryEvidence:
    """The memory test of one evaluation."""

    examples: int
    """Held-out examples tested."""
    p_value: float
    """One-sided: the chance of a headline this high from a cell at chance level."""
    margin: float
    """Headline minus chance."""
    progress: float
    """Share of the way from chance to a perfect headline: (headline - chance) / (1 - chance)."""
    remembers: bool


def p_value(scores: np.ndarray, chance: float) -> float:
    """One-sided p-value of "the mean score is no higher than ``chance``"."""
    from scipy.stats import binomtest, ttest_1samp  # here: records import this module

    scores = np.asarray(scores, dtype=float)
    if np.all((scores == 0.0) | (scores == 1.0)):
        return float(binomtest(int(scores.sum()), scores.size, chance,
                               alternative="greater").pvalue)
    if np.ptp(scores) == 0.0:  # no spread: the t statistic is undefined
        return 0.0 if scores[0] > chance else 1.0
    return float(ttest_1samp(scores, chance, alternative="greater").pvalue)


def remembers(p: float, margin: float) -> bool:
    """The verdict from a p-value and a margin above chance."""
    return p < SIGNIFICANCE and margin >= MIN_MARGIN


def memory_evidence(scores: np.ndarray, chance: float) -> MemoryEvidence:
    """Test per-example headline scores (each in [0, 1]) against ``chance``."""
    scores = np.asarray(scores, dtype=float)
    margin = float(scores.mean()) - chance
    p = p_value(scores, chance)
    return MemoryEvidence(
        examples=int(scores.size), p_value=p, margin=margin,
        progress=margin / (1.0 - chance) if chance < 1.0 else 0.0,
        remembers=remembers(p, margin),
    )
