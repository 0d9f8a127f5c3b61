import math

import numpy as np
import pytest

from bench_tasks.copy import ALPHABET, BLANK, DELIMITER, CopyTask


def _tokens(inputs: np.ndarray) -> np.ndarray:
    assert np.all(inputs.sum(axis=-1) == 1.0), "inputs must be one-hot"
    return inputs.argmax(axis=-1)


def test_attributes():
    task = CopyTask(length=100)
    assert (task.input_size, task.output_size, task.length) == (10, 10, 120)
    assert (task.readout, task.loss, task.headline) == ("every_step", "xent", "recall_accuracy")
    assert task.baseline_loss == pytest.approx(0.1733, abs=1e-4)
    assert CopyTask(200).baseline_loss == pytest.approx(0.0945, abs=1e-4)
    assert CopyTask(500).baseline_loss == pytest.approx(0.0400, abs=1e-4)
    assert task.chance == 1 / 8
    assert "0.99" in task.solved_criterion
    assert task.is_solved(loss=1.0, headline=0.99)
    assert not task.is_solved(loss=0.0, headline=0.989)


@pytest.mark.parametrize("length", [1, 2, 37])
def test_layout(length):
    task = CopyTask(length)
    batch = task.sample(np.random.default_rng(0), 64)
    n = length + 20
    assert batch.inputs.shape == (64, n, ALPHABET) and batch.inputs.dtype == np.float32
    assert batch.targets.shape == (64, n) and batch.targets.dtype == np.int64
    tokens = _tokens(batch.inputs)
    symbols = tokens[:, :10]
    assert np.all((symbols >= 1) & (symbols <= 8))
    assert np.all(tokens[:, 10 : length + 9] == BLANK)
    assert np.all(tokens[:, length + 9] == DELIMITER)
    assert np.all(tokens[:, length + 10 :] == BLANK)
    assert np.all(batch.targets[:, : length + 10] == BLANK)
    np.testing.assert_array_equal(batch.targets[:, -10:], symbols)


def test_symbols_are_uniform_and_independent_of_position():
    batch = CopyTask(3).sample(np.random.default_rng(1), 40_000)
    symbols = batch.targets[:, -10:]
    freq = np.stack([(symbols == s).mean(axis=0) for s in range(1, 9)])  # [8 symbols, 10 slots]
    se = math.sqrt(1 / 8 * 7 / 8 / 40_000)
    assert np.all(np.abs(freq - 1 / 8) < 5 * se)


def test_headline_metric_reads_only_the_last_ten_steps():
    task = CopyTask(20)
    batch = task.sample(np.random.default_rng(3), 64)
    perfect = np.eye(ALPHABET, dtype=np.float32)[batch.targets]
    assert task.headline_metric(perfect, batch.targets) == 1.0
    wrong_blanks = perfect.copy()
    wrong_blanks[:, : -10] = np.eye(ALPHABET)[DELIMITER]
    assert task.headline_metric(wrong_blanks, batch.targets) == 1.0
    wrong_last = perfect.copy()
    wrong_last[:, -1] = np.eye(ALPHABET)[BLANK]
    assert task.headline_metric(wrong_last, batch.targets) == pytest.approx(0.9)
