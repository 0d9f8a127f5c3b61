import numpy as np

from harness.compare.speed import compare_speed

from .records import step_times


def test_identical_distributions_are_not_significant():
    change = compare_speed([(step_times(10, seed=1), step_times(10, seed=2))])
    assert abs(change.ratio - 1) < 0.03 and change.p_value > 0.01
    assert change.samples == (200, 200)


def test_a_two_fold_slowdown_is_large_and_significant():
    change = compare_speed([(step_times(10, seed=1), step_times(20, seed=2))])
    assert 1.9 < change.ratio < 2.1 and change.p_value < 1e-6
    # the fast end of log-normal times around 10 ms with a 5% spread: 10 x exp(-1.645 x 0.05)
    assert 9.0 < change.baseline_ms < 9.5 and 18 < change.current_ms < 19


def test_steps_delayed_by_other_processes_are_not_a_slowdown():
    """Contention adds time to some steps, never takes it away: the fast end stays put."""
    quiet = np.array(step_times(10, n=300, seed=1))
    busy = np.array(step_times(10, n=300, seed=2))
    busy[::2] *= 1.6  # every other step waits for a neighbour
    change = compare_speed([(quiet, busy)])
    assert np.median(busy) / np.median(quiet) > 1.2  # the median would call it a slowdown
    assert abs(change.ratio - 1) < 0.05


def drifting_rounds(slowdown: float) -> list[tuple[list[float], list[float]]]:
    """Three rounds on a machine that runs at 10, then 20, then 40 ms per step."""
    return [(step_times(ms, n=50, spread=0.2, seed=i),
             step_times(ms * slowdown, n=50, spread=0.2, seed=10 + i))
            for i, ms in enumerate([10, 20, 40])]


def pooled(rounds):
    return [(np.concatenate([a for a, _ in rounds]), np.concatenate([b for _, b in rounds]))]


def test_scaling_each_round_removes_drift_from_the_test():
    rounds = drifting_rounds(1.2)
    by_round, all_at_once = compare_speed(rounds), compare_speed(pooled(rounds))
    assert by_round.p_value < 1e-6 < 0.01 < all_at_once.p_value
    assert 1.1 < by_round.ratio < 1.3
    same = compare_speed(drifting_rounds(1.0))
    assert same.p_value > 0.01 and abs(same.ratio - 1) < 0.1


def test_no_samples_on_one_side_means_no_comparison():
    assert compare_speed([([], step_times(10))]) is None
