from harness.stats import count_spikes, percentile


def test_percentile_ignores_non_finite_values():
    assert percentile([1.0, float("nan"), 3.0, float("inf")], 50) == 2.0
    assert percentile([], 50) is None


def test_count_spikes_finds_jumps_above_running_median():
    losses = [1.0] * 30 + [5.0] + [1.0] * 30 + [2.5]
    assert count_spikes(losses) == 1
    assert count_spikes([1.0 / (i + 1) for i in range(200)]) == 0  # a falling curve is calm
