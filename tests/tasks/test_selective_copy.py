import math

import numpy as np
import pytest

from bench_tasks.copy import ALPHABET, BLANK, DELIMITER
from bench_tasks.selective_copy import SelectiveCopyTask


def _tokens(inputs: np.ndarray) -> np.ndarray:
    assert np.all(inputs.sum(axis=-1) == 1.0), "inputs must be one-hot"
    return inputs.argmax(axis=-1)


def test_attributes():
    task = SelectiveCopyTask(length=100, tokens=8)
    assert (task.input_size, task.output_size, task.length) == (10, 10, 109)
    assert (task.readout, task.loss, task.headline) == ("every_step", "xent", "recall_accuracy")
    assert task.baseline_loss == pytest.approx(8 * math.log(8) / 109)
    assert task.baseline_loss == pytest.approx(0.1526, abs=1e-4)
    assert SelectiveCopyTask(1000, 16).baseline_loss == pytest.approx(16 * math.log(8) / 1017)
    assert task.chance == 1 / 8
    assert "0.99" in task.solved_criterion and "last 8" in task.solved_criterion
    assert task.is_solved(loss=1.0, headline=0.99)
    assert not task.is_solved(loss=0.0, headline=0.989)


@pytest.mark.parametrize(("length", "tokens"), [(1, 1), (5, 5), (12, 3), (100, 8)])
def test_layout(length, tokens):
    task = SelectiveCopyTask(length, tokens)
    batch = task.sample(np.random.default_rng(0), 256)
    n = length + 1 + tokens
    assert batch.inputs.shape == (256, n, ALPHABET) and batch.inputs.dtype == np.float32
    assert batch.targets.shape == (256, n) and batch.targets.dtype == np.int64
    tokens_in = _tokens(batch.inputs)
    scattered = tokens_in[:, :length]
    placed = scattered != BLANK
    # Exactly K symbols among the first T steps, all symbols 1..8, the rest blanks.
    np.testing.assert_array_equal(placed.sum(axis=1), tokens)
    assert np.all((scattered[placed] >= 1) & (scattered[placed] <= 8))
    assert np.all(tokens_in[:, length] == DELIMITER)
    assert np.all(tokens_in[:, length + 1 :] == BLANK)
    assert np.all(batch.targets[:, : length + 1] == BLANK)
    # The targets are the scattered symbols in their order of appearance (boolean
    # indexing walks each row left to right).
    np.testing.assert_array_equal(batch.targets[:, -tokens:], scattered[placed].reshape(-1, tokens))


def test_positions_are_a_uniform_subset():
    length, tokens, n = 20, 4, 40_000
    batch = SelectiveCopyTask(length, tokens).sample(np.random.default_rng(1), n)
    placed = _tokens(batch.inputs)[:, :length] != BLANK
    # Each position holds a symbol with probability K/T.
    p = tokens / length
    assert np.all(np.abs(placed.mean(axis=0) - p) < 5 * math.sqrt(p * (1 - p) / n))
    # Positions are a uniform K-subset, not K independent draws: pairs of positions are
    # filled together with probability K(K-1) / (T(T-1)).
    pair = (placed[:, 0] & placed[:, -1]).mean()
    q = tokens * (tokens - 1) / (length * (length - 1))
    assert pair == pytest.approx(q, abs=5 * math.sqrt(q * (1 - q) / n))


def test_symbols_are_uniform_and_independent_of_slot():
    batch = SelectiveCopyTask(30, 5).sample(np.random.default_rng(2), 40_000)
    symbols = batch.targets[:, -5:]
    freq = np.stack([(symbols == s).mean(axis=0) for s in range(1, 9)])  # [8 symbols, 5 slots]
    se = math.sqrt(1 / 8 * 7 / 8 / 40_000)
    assert np.all(np.abs(freq - 1 / 8) < 5 * se)


def test_headline_metric_reads_only_the_last_k_steps():
    task = SelectiveCopyTask(20, 6)
    batch = task.sample(np.random.default_rng(4), 64)
    perfect = np.eye(ALPHABET, dtype=np.float32)[batch.targets]
    # Only the last K steps count: a wrong blank before them changes nothing.
    wrong_blanks = perfect.copy()
    wrong_blanks[:, 0] = np.eye(ALPHABET)[DELIMITER]
    assert task.headline_metric(wrong_blanks, batch.targets) == 1.0
