import pytest

from harness.compare.rules import Rules, by_count, by_ratio, by_speed, by_tolerance


@pytest.mark.parametrize("baseline, current, higher_is_better, verdict", [
    (0.90, 0.89, True, "unchanged"),
    (0.90, 0.85, True, "regression"),
    (0.90, 0.95, True, "improvement"),
    (0.20, 0.30, False, "regression"),
    (0.20, 0.10, False, "improvement"),
    (None, 0.50, True, None),
])
def test_tolerance_is_absolute_and_knows_which_way_is_better(baseline, current,
                                                             higher_is_better, verdict):
    assert by_tolerance(baseline, current, 0.02, higher_is_better) == verdict


def test_steps_to_solve_count_by_ratio_either_way():
    assert by_ratio(100, 120, 0.25) == "unchanged"
    assert by_ratio(100, 150, 0.25) == "regression"
    assert by_ratio(100, 70, 0.25) == "improvement"
    assert by_ratio(None, 70, 0.25) is None


def test_any_new_bad_event_is_a_regression():
    assert by_count(0, 1) == "regression"
    assert by_count(2, 0) == "improvement"
    assert by_count(1, 1) == "unchanged"
    assert by_count(None, 1) is None and by_count(1, None) is None  # one side unmeasured


@pytest.mark.parametrize("ratio, p_value, verdict", [
    (1.5, 0.001, "regression"),
    (1.5, 0.2, "unchanged"),  # large but not significant
    (1.05, 1e-9, "unchanged"),  # significant but within the factor
    (0.5, 0.001, "improvement"),
])
def test_speed_needs_both_the_factor_and_significance(ratio, p_value, verdict):
    assert by_speed(ratio, p_value, Rules()) == verdict


def test_the_rules_in_words_carry_the_configured_numbers():
    text = " ".join(Rules(headline_tolerance=0.07, speed_factor=1.3, alpha=0.002).describe())
    assert "more than 0.07" in text and "x1.3" in text and "p < 0.002" in text


@pytest.mark.parametrize("verdict_of", [
    lambda: by_ratio(100.0, 125.0, 0.25),  # exactly 25% more steps: not "more than"
    lambda: by_ratio(100.0, 80.0, 0.25),  # exactly the inverse factor
    lambda: by_speed(1.1, 0.001, Rules()),  # exactly x1.1 slower
    lambda: by_speed(1 / 1.1, 0.001, Rules()),  # exactly x1.1 faster
    lambda: by_speed(2.0, Rules().alpha, Rules()),  # p exactly alpha: not "below"
    lambda: by_speed(0.5, Rules().alpha, Rules()),
])
def test_a_change_exactly_at_a_threshold_is_unchanged(verdict_of):
    """The rules say "more than" and "p below": the boundary itself does not count."""
    assert verdict_of() == "unchanged"
