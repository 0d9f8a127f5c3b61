"""Each claim condition judged on records of really trained tiny models: it holds on one
setting and fails on another; bad claims are refused with one line naming the bad value."""

from __future__ import annotations

import re

import pytest

from harness.errors import UsageError
from harness.reproduce import Check, Claim, judge, load_reproduce_suite
from tests.reproduce.suite import TINY_SUITE, write_suite

# The tiny suite trains torch:rnn to solve echo T=3 (loss ratio ~0.06); torch:rnn at T=4
# and torch:lstm at T=4 (learning rate 1e-9) take one step: the RNN's first step already
# lifts it above chance (echo needs no memory), the LSTM stays at chance.
CASES = [
    # condition, cell, length, ratio, than, expected
    ("solves", "torch:rnn", 3, None, None, True),
    ("solves", "torch:rnn", 4, None, None, False),
    ("does_not_solve", "torch:rnn", 4, None, None, True),
    ("does_not_solve", "torch:rnn", 3, None, None, False),
    ("remembers", "torch:rnn", 3, None, None, True),
    ("remembers", "torch:lstm", 4, None, None, False),
    ("does_not_remember", "torch:lstm", 4, None, None, True),
    ("does_not_remember", "torch:rnn", 4, None, None, False),
    ("loss_ratio_below", "torch:rnn", 3, 0.5, None, True),
    ("loss_ratio_below", "torch:lstm", 4, 0.5, None, False),
    ("loss_ratio_above", "torch:lstm", 4, 0.9, None, True),
    ("loss_ratio_above", "torch:rnn", 3, 0.9, None, False),
    ("remembers_longer_than", "torch:rnn", None, None, "torch:lstm", True),
    ("remembers_longer_than", "torch:lstm", None, None, "torch:rnn", False),
]


@pytest.mark.parametrize(("condition", "cell", "length", "ratio", "than", "expected"), CASES)
def test_each_condition_holds_on_one_setting_and_not_on_another(
        tiny_results, condition, cell, length, ratio, than, expected):
    _, records = tiny_results
    claim = Claim("a claim", "a test", "echo", length, (Check(cell, condition, ratio, than),))
    (outcome,) = judge([claim], records)
    (check,) = outcome.checks
    assert check.holds is expected, check.measured
    assert outcome.reproduced is expected
    if condition == "remembers_longer_than":  # the LSTM ran at T=4 only and at chance
        assert "torch:lstm remembers none of the lengths tried (T=4)" in check.measured


def test_the_measured_numbers_are_those_of_the_records(tiny_results):
    _, records = tiny_results
    (rnn,) = [r for r in records if r.spec.cell == "torch:rnn"
              and r.spec.task_params["length"] == 3]
    claim = Claim("a claim", "a test", "echo", 3, (Check("torch:rnn", "solves"),))
    (outcome,) = judge([claim], records)
    measured = outcome.checks[0].measured
    assert f"loss/baseline {rnn.accuracy.loss_ratio:.3g}" in measured
    assert f"solved by 1 of 1 seed (at step {rnn.accuracy.steps_to_solve})" in measured


def test_a_claim_holds_only_when_every_check_does_and_unrun_settings_are_not_judged(
        tiny_results):
    _, records = tiny_results
    both = Claim("c", "s", "echo", 4, (Check("torch:lstm", "does_not_solve"),
                                      Check("torch:rnn", "solves")))
    unrun = Claim("c", "s", "echo", 7, (Check("torch:rnn", "solves"),))
    mixed = Claim("c", "s", "echo", 4, (Check("torch:lstm", "does_not_solve"),
                                       Check("torch:gru", "solves")))
    outcomes = judge([both, unrun, mixed], records)
    assert [o.reproduced for o in outcomes] == [False, None, None]
    assert outcomes[1].checks[0].measured == "no finished run of torch:rnn at echo T=7"


BAD_CLAIMS = [
    ('{cell = "torch:rnn", is = "wins"}', "unknown check 'wins' (valid: solves, "),
    ('{cell = "torch:rnn", is = "loss_ratio_below"}', "needs a number 'ratio'"),
    ('{cell = "torch:rnn", is = "solves", ratio = 0.5}', "takes no 'ratio'"),
    ('{cell = "torch:rnn", is = "remembers_longer_than"}', "needs the other cell, 'than'"),
    ('{is = "solves"}', "'cell' must be a non-empty string, got None"),
    ('{cell = "torch:rnn", is = "solves", colour = 1}', "unknown key 'colour' in a check"),
]


@pytest.mark.parametrize(("check", "message"), BAD_CLAIMS)
def test_a_bad_check_is_refused_naming_it(tmp_path, check, message):
    text = TINY_SUITE.replace('checks = [{cell = "torch:lstm", is = "solves"}]',
                              f"checks = [{check}]")
    path = write_suite(tmp_path, text=text)
    with pytest.raises(UsageError, match=r"\[\[claims\]\] entry 2: .*" + re.escape(message)):
        load_reproduce_suite(str(path))



@pytest.mark.parametrize(("old", "new", "message"), [
    ("expected_minutes = 0.5", "expected_minutes = -3",
     "expected_minutes must be a positive number, got -3"),
    ('length = 4\nchecks = [{cell = "torch:lstm", is = "solves"}]',
     'checks = [{cell = "torch:lstm", is = "solves"}]',
     "check 'solves' needs the claim's 'length'"),
])
def test_a_bad_suite_heading_or_a_claim_without_its_length_is_refused(tmp_path, old, new,
                                                                      message):
    assert old in TINY_SUITE
    path = write_suite(tmp_path, text=TINY_SUITE.replace(old, new))
    with pytest.raises(UsageError, match=re.escape(message)):
        load_reproduce_suite(str(path))
