import math

import numpy as np
import pytest

pytest.importorskip("sklearn")

from bench_tasks import digits  # noqa: E402
from bench_tasks.digits import DigitsTask  # noqa: E402
from harness.errors import UsageError  # noqa: E402
from harness.tasks import TaskDefinition  # noqa: E402


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_digits

    raw = load_digits()
    return raw.data, raw.target


def _rows(images: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in np.ascontiguousarray(images, dtype=np.float32)}


def test_attributes():
    task = DigitsTask()
    assert (task.input_size, task.output_size, task.length) == (1, 10, 64)
    assert (task.readout, task.loss, task.headline) == ("last_step", "xent", "accuracy")
    assert "0.9" in task.solved_criterion
    assert task.is_solved(loss=9.0, headline=0.9)
    assert not task.is_solved(loss=0.0, headline=0.899)
    assert DigitsTask().permuted is False


def test_the_data_set_is_loaded_once():
    assert digits.dataset() is digits.dataset()
    assert DigitsTask().train is DigitsTask(permuted=True).train


def test_split_is_fixed_stratified_and_disjoint(data):
    _, labels = data
    train, test = digits.train_test_indices()
    assert len(test) == math.ceil(0.2 * len(labels)) == 360
    assert len(train) + len(test) == len(labels) == 1797
    assert not set(train) & set(test)
    # Stratified: every class has the same share of the test part as of the whole, to
    # within one image.
    share = np.bincount(labels[test], minlength=10) - 0.2 * np.bincount(labels, minlength=10)
    assert np.all(np.abs(share) <= 1)


@pytest.mark.parametrize("permuted", [False, True])
def test_layout(data, permuted):
    images, labels = data
    task = DigitsTask(permuted=permuted)
    batch = task.sample(np.random.default_rng(0), 500)
    assert batch.inputs.shape == (500, 64, 1) and batch.inputs.dtype == np.float32
    assert batch.targets.shape == (500,) and batch.targets.dtype == np.int64
    assert np.all((batch.inputs >= 0) & (batch.inputs <= 1))
    np.testing.assert_array_equal(batch.inputs * 16, np.round(batch.inputs * 16))
    # Each sequence is an image of the data set, read in the task's order, with its label.
    sequences = batch.inputs[..., 0]
    unpermuted = np.empty_like(sequences)
    unpermuted[:, task.order] = sequences
    index = {row.tobytes(): i for i, row in enumerate((images / 16).astype(np.float32))}
    found = np.array([index[row.tobytes()] for row in unpermuted])
    np.testing.assert_array_equal(batch.targets, labels[found])


def test_train_batches_never_hold_a_test_image_and_eval_batches_only_test_images(data):
    images, _ = data
    train, test = digits.train_test_indices()
    task = DigitsTask()
    test_rows = _rows(images[test] / 16)
    trained = _rows(task.sample(np.random.default_rng(1), 20_000).inputs[..., 0])
    assert not trained & test_rows
    assert trained == _rows(images[train] / 16)  # 20,000 draws reach all 1,437 images
    evaluated = _rows(task.sample(np.random.default_rng(2), 5_000, split="eval").inputs[..., 0])
    assert evaluated == test_rows


def test_held_out_is_the_whole_test_split_in_a_fixed_order(data):
    images, labels = data
    _, test = digits.train_test_indices()
    task = DigitsTask()
    first = task.held_out(np.random.default_rng(0), 1000)
    again = task.held_out(np.random.default_rng(99), 7)
    other_instance = DigitsTask().held_out(np.random.default_rng(5), 2000)
    for batch in (again, other_instance):
        np.testing.assert_array_equal(batch.inputs, first.inputs)
        np.testing.assert_array_equal(batch.targets, first.targets)
    assert first.inputs.shape == (360, 64, 1) and first.inputs.dtype == np.float32
    assert first.targets.shape == (360,) and first.targets.dtype == np.int64
    np.testing.assert_array_equal(first.inputs[..., 0], (images[test] / 16).astype(np.float32))
    np.testing.assert_array_equal(first.targets, labels[test])


def test_split_and_permutation_do_not_drift_between_library_versions():
    """Results are only comparable on the same held-out set and pixel order: if a new
    scikit-learn or numpy changed either, this fails rather than silently moving them."""
    _, test = digits.train_test_indices()
    assert test[:8].tolist() == [21, 24, 28, 34, 35, 37, 39, 42] and test.sum() == 337944
    assert digits.permutation()[:8].tolist() == [47, 24, 10, 62, 54, 53, 41, 12]


def test_permutation_is_fixed_and_a_true_permutation():
    order = digits.permutation()
    fresh = np.random.default_rng(digits.PERMUTATION_SEED).permutation(64)
    np.testing.assert_array_equal(order, fresh)
    np.testing.assert_array_equal(np.sort(order), np.arange(64))
    assert np.mean(order == np.arange(64)) < 0.1  # far from the identity
    np.testing.assert_array_equal(DigitsTask(permuted=True).order, order)
    np.testing.assert_array_equal(DigitsTask(permuted=False).order, np.arange(64))


def test_permuted_and_plain_sequences_hold_the_same_pixels():
    plain = DigitsTask(permuted=False).sample(np.random.default_rng(3), 64)
    permuted = DigitsTask(permuted=True).sample(np.random.default_rng(3), 64)
    np.testing.assert_array_equal(plain.targets, permuted.targets)
    assert not np.array_equal(plain.inputs, permuted.inputs)
    order = digits.permutation()
    np.testing.assert_array_equal(permuted.inputs[:, :, 0], plain.inputs[:, order, 0])
    np.testing.assert_array_equal(np.sort(permuted.inputs, axis=1), np.sort(plain.inputs, axis=1))
    held_plain = DigitsTask(False).held_out(np.random.default_rng(0), 0)
    held_permuted = DigitsTask(True).held_out(np.random.default_rng(0), 0)
    np.testing.assert_array_equal(held_permuted.inputs, held_plain.inputs[:, order])


def _xent(logits: np.ndarray, targets: np.ndarray) -> float:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return float(-log_probs[np.arange(len(targets)), targets].mean())


@pytest.mark.parametrize("permuted", [False, True])
def test_baseline_and_chance_are_those_of_the_train_prior_on_the_test_split(data, permuted):
    _, labels = data
    train, test = digits.train_test_indices()
    task = DigitsTask(permuted=permuted)
    held = task.held_out(np.random.default_rng(0), 0)
    prior = np.bincount(labels[train], minlength=10) / len(train)
    memoryless = np.broadcast_to(np.log(prior), (len(held.targets), 10))
    assert task.baseline_loss == pytest.approx(_xent(memoryless, held.targets), rel=1e-12)
    assert task.chance == task.headline_metric(memoryless, held.targets)
    most_frequent = np.bincount(labels[train]).argmax()
    assert task.chance == pytest.approx(np.mean(labels[test] == most_frequent))
    # Nearly balanced classes: close to ln(10) and 1/10, but computed, not assumed.
    assert task.baseline_loss == pytest.approx(math.log(10), abs=0.01)
    assert task.chance == pytest.approx(0.1, abs=0.01)
    # On training batches the prior scores the train entropy, nearly the same number.
    batch = task.sample(np.random.default_rng(4), 50_000)
    assert _xent(memoryless[:1].repeat(50_000, 0), batch.targets) == pytest.approx(
        task.baseline_loss, abs=0.01
    )


def test_headline_metric():
    task = DigitsTask()
    held = task.held_out(np.random.default_rng(0), 0)
    perfect = np.eye(10, dtype=np.float32)[held.targets]
    assert task.headline_metric(perfect, held.targets) == 1.0
    off_by_one = np.eye(10, dtype=np.float32)[(held.targets + 1) % 10]
    assert task.headline_metric(off_by_one, held.targets) == 0.0



def test_parameters_are_validated():
    with pytest.raises(UsageError, match="permuted"):
        DigitsTask(permuted="sometimes")
    assert DigitsTask(permuted="yes").permuted is True  # strings come from the CLI
    with pytest.raises(UsageError, match="length"):
        TaskDefinition("digits", "", (digits.PERMUTED,), DigitsTask).build({"length": 64})
    with pytest.raises(ValueError, match="split"):
        DigitsTask().sample(np.random.default_rng(0), 1, split="test")
