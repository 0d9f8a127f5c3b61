import math

import numpy as np
import pytest

from bench_tasks.recall import BLANK, RecallTask
from harness.tasks import IGNORE_TARGET


def _tokens(inputs: np.ndarray) -> np.ndarray:
    assert np.all(inputs.sum(axis=-1) == 1.0), "inputs must be one-hot"
    return inputs.argmax(axis=-1)


def _split(task: RecallTask, inputs: np.ndarray):
    """Key indices, value indices and queried key indices of a batch, read off the inputs."""
    tokens = _tokens(inputs)
    p = task.pairs
    keys = tokens[:, 0 : 2 * p : 2] - 1
    values = tokens[:, 1 : 2 * p : 2] - 1 - task.keys
    queries = tokens[:, task.query_start :] - 1
    return keys, values, queries


def test_attributes():
    task = RecallTask(length=50, pairs=4, keys=8, values=8)
    assert (task.input_size, task.output_size, task.length) == (17, 8, 62)
    assert task.query_start == 58
    assert (task.readout, task.loss, task.headline) == ("every_step", "xent", "recall_accuracy")
    assert task.baseline_loss == pytest.approx(math.log(8))
    assert task.chance == 1 / 8
    other = RecallTask(length=0, pairs=3, keys=5, values=2)
    assert (other.input_size, other.output_size, other.length) == (8, 2, 9)
    assert other.baseline_loss == pytest.approx(math.log(2)) and other.chance == 1 / 2
    assert "0.99" in task.solved_criterion and "4 query steps" in task.solved_criterion
    assert task.is_solved(loss=9.0, headline=0.99)
    assert not task.is_solved(loss=0.0, headline=0.989)


@pytest.mark.parametrize(
    ("length", "pairs", "keys", "values"),
    [(0, 1, 1, 2), (3, 4, 4, 3), (50, 4, 8, 8), (7, 6, 20, 5)],
)
def test_layout(length, pairs, keys, values):
    task = RecallTask(length, pairs, keys, values)
    batch = task.sample(np.random.default_rng(0), 256)
    n = 3 * pairs + length
    assert batch.inputs.shape == (256, n, 1 + keys + values)
    assert batch.inputs.dtype == np.float32
    assert batch.targets.shape == (256, n) and batch.targets.dtype == np.int64
    tokens = _tokens(batch.inputs)
    # key, value, key, value, ...: key tokens 1..keys, value tokens keys+1..keys+values.
    k, v, q = _split(task, batch.inputs)
    assert np.all((k >= 0) & (k < keys)) and np.all((v >= 0) & (v < values))
    assert np.all(np.sort(k, axis=1)[:, 1:] != np.sort(k, axis=1)[:, :-1]), "keys distinct"
    assert np.all(tokens[:, 2 * pairs : 2 * pairs + length] == BLANK)
    # Every key is queried exactly once.
    np.testing.assert_array_equal(np.sort(q, axis=1), np.sort(k, axis=1))
    # Targets: ignored except at the queries, where they are the value of the queried key.
    assert np.all(batch.targets[:, : task.query_start] == IGNORE_TARGET)
    match = q[:, :, None] == k[:, None, :]  # [B, query, pair]
    np.testing.assert_array_equal(match.sum(axis=-1), 1)
    expected = (match * v[:, None, :]).sum(axis=-1)
    np.testing.assert_array_equal(batch.targets[:, task.query_start :], expected)


def test_keys_values_and_query_order_are_uniform():
    n, pairs, keys, values = 40_000, 3, 6, 4
    task = RecallTask(2, pairs, keys, values)
    k, v, q = _split(task, task.sample(np.random.default_rng(1), n).inputs)

    def close(freq, p):
        return np.all(np.abs(freq - p) < 5 * math.sqrt(p * (1 - p) / n))

    # Each pair slot holds each key with probability 1/keys (a uniform ordered sample).
    assert close(np.stack([(k == key).mean(axis=0) for key in range(keys)]), 1 / keys)
    assert close(np.stack([(v == value).mean(axis=0) for value in range(values)]), 1 / values)
    # The first pair's key is asked at each query slot with probability 1/pairs.
    asked_at = (q == k[:, :1]).argmax(axis=1)
    assert close(np.bincount(asked_at, minlength=pairs) / n, 1 / pairs)
    # Values repeat within a sequence (drawn with replacement); keys never do.
    assert np.any(v[:, 0] == v[:, 1])


def _memoryless_probs(task: RecallTask, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """P(target | current input token) at the query steps, from the batch: [tokens, values]."""
    tokens = _tokens(inputs)[:, task.query_start :].ravel()
    answers = targets[:, task.query_start :].ravel()
    counts = np.zeros((task.input_size, task.values))
    np.add.at(counts, (tokens, answers), 1)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


@pytest.mark.parametrize(("length", "pairs", "keys", "values"), [(5, 4, 8, 8), (0, 2, 3, 2)])
def test_memoryless_loss_matches_baseline(length, pairs, keys, values):
    task = RecallTask(length, pairs, keys, values)
    batch = task.sample(np.random.default_rng(2), 20_000)
    probs = _memoryless_probs(task, batch.inputs, batch.targets)
    counted = batch.targets != IGNORE_TARGET
    assert counted.sum() == 20_000 * pairs
    picked = probs[_tokens(batch.inputs)[counted], batch.targets[counted]]
    # The mean over the query steps only: what IGNORE_TARGET asks of the trainer.
    loss = -np.log(picked).mean()
    assert loss == pytest.approx(task.baseline_loss, rel=0.01)


def test_headline_metric():
    task = RecallTask(10, 4, 8, 8)
    batch = task.sample(np.random.default_rng(3), 20_000)
    safe = np.where(batch.targets == IGNORE_TARGET, 0, batch.targets)
    perfect = np.eye(task.values, dtype=np.float32)[safe]
    assert task.headline_metric(perfect, batch.targets) == 1.0
    # Outputs before the queries do not count.
    noisy = perfect.copy()
    before = noisy[:, : task.query_start]
    before[...] = np.random.default_rng(4).random(before.shape)
    assert task.headline_metric(noisy, batch.targets) == 1.0
    # Fitted on another batch: the argmax of a fit to the scored batch itself would beat
    # chance by its own sampling noise.
    fit = task.sample(np.random.default_rng(5), 20_000)
    probs = _memoryless_probs(task, fit.inputs, fit.targets)
    memoryless = np.log(probs[_tokens(batch.inputs)] + 1e-9)
    se = math.sqrt(1 / 8 * 7 / 8 / (20_000 * 4))
    assert task.headline_metric(memoryless, batch.targets) == pytest.approx(task.chance, abs=5 * se)
