"""The memory test on synthetic held-out results of known accuracy (numpy only, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.memory import MIN_MARGIN, SIGNIFICANCE, memory_evidence, p_value

TRIALS = 2000
EXAMPLES = 512
SLACK = 3 * np.sqrt(SIGNIFICANCE * (1 - SIGNIFICANCE) / TRIALS)
"""Three standard errors of a rejection rate estimated from TRIALS simulations."""


def copy_like(rng, accuracy, examples=EXAMPLES, positions=10):
    """Per-example shares of ``positions`` recalled, each right with ``accuracy``."""
    return rng.binomial(positions, accuracy, size=examples) / positions


def binary(rng, accuracy, examples=EXAMPLES):
    return (rng.random(examples) < accuracy).astype(float)


def correlated(rng, accuracy, examples=EXAMPLES, positions=10):
    """Positions correlated within an example: each example has its own chance of being
    right (Beta-distributed around ``accuracy``), as sequences that are easy or hard."""
    own = rng.beta(accuracy * 4, (1 - accuracy) * 4, size=examples)
    return rng.binomial(positions, own) / positions


def all_or_nothing(rng, accuracy, examples=EXAMPLES):
    """Positions perfectly correlated within an example: the whole example right or wrong."""
    return binary(rng, accuracy, examples)


@pytest.mark.parametrize("draw, chance", [(copy_like, 1 / 8), (correlated, 1 / 8),
                                          (binary, 0.0784), (all_or_nothing, 1 / 8),
                                          (binary, 0.5)])
def test_false_positive_rate_at_chance_is_at_most_the_level(draw, chance):
    rng = np.random.default_rng(0)
    p_values = np.array([p_value(draw(rng, chance), chance) for _ in range(TRIALS)])
    assert np.mean(p_values < SIGNIFICANCE) <= SIGNIFICANCE + SLACK
    assert np.mean(p_values < 0.5) > 0.3  # a working test: p-values spread under the null


def test_counting_positions_instead_of_examples_would_overstate_the_evidence():
    """Why the test counts examples: with correlated positions, a binomial test over the
    5120 positions of 512 all-or-nothing examples rejects far more often than the level."""
    from scipy.stats import binomtest

    rng = np.random.default_rng(1)
    rejections = 0
    for _ in range(300):
        scores = all_or_nothing(rng, 1 / 8)
        rejections += binomtest(int(scores.sum() * 10), EXAMPLES * 10, 1 / 8,
                                alternative="greater").pvalue < SIGNIFICANCE
    assert rejections / 300 > 5 * SIGNIFICANCE


@pytest.mark.parametrize("draw", [copy_like, binary])
def test_a_real_edge_is_detected(draw):
    """The LSTM's copy recall at T=20 in the issue: 0.21 against chance 0.125."""
    rng = np.random.default_rng(2)
    detected = [memory_evidence(draw(rng, 0.21), 1 / 8).remembers for _ in range(200)]
    assert np.mean(detected) > 0.95


def test_evidence_states_margin_progress_and_p():
    scores = np.array([1.0] * 60 + [0.0] * 40)
    evidence = memory_evidence(scores, 0.25)
    assert evidence.examples == 100
    assert evidence.margin == pytest.approx(0.35)
    assert evidence.progress == pytest.approx(0.35 / 0.75)
    assert evidence.p_value < 1e-10 and evidence.remembers


def test_a_significant_but_tiny_edge_is_not_memory():
    rng = np.random.default_rng(3)
    edge = 1 / 8 + MIN_MARGIN / 2
    evidence = memory_evidence(copy_like(rng, edge, examples=200_000), 1 / 8)
    assert evidence.p_value < SIGNIFICANCE and not evidence.remembers


def test_scores_without_spread():
    assert memory_evidence(np.full(50, 0.3), 0.125).remembers
    assert not memory_evidence(np.full(50, 0.1), 0.125).remembers
