"""A tiny real reproduce suite: torch cells on the toy ``echo`` task (tests/toyplugins.py),
trained for a second, with claims that each condition holds on one setting and fails on
another."""

from __future__ import annotations

from pathlib import Path

TINY_SUITE = '''
description = "tiny echo suite"
expected_minutes = 0.5
full_size = "none: it is a test"

[defaults]
task = "echo"
hidden = 8
batch = 8
eval_size = 32
eval_every = 5
lr = 0.05

[[runs]]
cells = ["torch:rnn"]
length = 3
steps = 60

[[runs]]
cells = ["torch:rnn"]
length = 4
steps = 1

[[runs]]
cells = ["torch:lstm"]
length = 4
steps = 1
lr = 1e-9

[[claims]]
text = "The tanh RNN solves echo at T=3"
source = "a test"
task = "echo"
length = 3
checks = [
  {cell = "torch:rnn", is = "solves"},
  {cell = "torch:rnn", is = "loss_ratio_below", ratio = 0.5},
]

[[claims]]
text = "The LSTM solves echo at T=4"
source = "a test"
task = "echo"
length = 4
checks = [{cell = "torch:lstm", is = "solves"}]
'''


def write_suite(directory: Path, name: str = "tiny", text: str = TINY_SUITE) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_text(text)
    return path
