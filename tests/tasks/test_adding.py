
import numpy as np
import pytest

from bench_tasks.adding import AddingTask


def test_attributes():
    task = AddingTask(length=100)
    assert (task.input_size, task.output_size, task.length) == (2, 1, 100)
    assert (task.readout, task.loss, task.headline) == ("last_step", "mse", "accuracy")
    assert task.baseline_loss == pytest.approx(1 / 6)
    assert task.chance == pytest.approx(0.0784)
    assert "0.01" in task.solved_criterion
    assert task.is_solved(loss=0.01, headline=0.0)
    assert not task.is_solved(loss=0.0101, headline=1.0)


@pytest.mark.parametrize("length", [2, 7, 100])
def test_layout(length):
    batch = AddingTask(length).sample(np.random.default_rng(0), 4_000)
    assert batch.inputs.shape == (4_000, length, 2) and batch.inputs.dtype == np.float32
    assert batch.targets.shape == (4_000, 1) and batch.targets.dtype == np.float32
    values, markers = batch.inputs[..., 0], batch.inputs[..., 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    np.testing.assert_array_equal(markers[:, :half].sum(axis=1), 1.0)
    np.testing.assert_array_equal(markers[:, half:].sum(axis=1), 1.0)
    # Every position of each half gets marked (positions are uniform, not fixed).
    assert np.all(markers.sum(axis=0) > 0)
    np.testing.assert_array_equal(batch.targets[:, 0], (values * markers).sum(axis=1))
