"""The copy task (Arjovsky, Shah & Bengio 2016, after Hochreiter & Schmidhuber 1997).

Ten symbols, a delay of ``length`` steps, a delimiter, then the symbols must be
reproduced. Only the last ten targets carry information, so a memoryless model that
predicts blanks and then guesses uniformly scores ``10·ln(8) / (T+20)``.
"""

from __future__ import annotations

import math

import numpy as np

from harness.tasks import Batch, Parameter, Split, Task

BLANK = 0
DELIMITER = 9
ALPHABET = 10
N_SYMBOLS = 8  # symbols are 1..8
RECALL = 10  # how many symbols to remember
SOLVED_ACCURACY = 0.99

LENGTH = Parameter(
    "length",
    int,
    default=100,
    help="delay T between the last symbol and the delimiter (sequence length T+20)",
    minimum=1,
)


class CopyTask(Task):
    input_size = ALPHABET
    output_size = ALPHABET
    readout = "every_step"
    loss = "xent"
    headline = "recall_accuracy"
    chance = 1 / N_SYMBOLS
    solved_criterion = (f"recall accuracy >= {SOLVED_ACCURACY:g} over the last {RECALL} positions "
                        "of the sequence, the recalled symbols")

    def __init__(self, length: int = LENGTH.default) -> None:
        self.delay = LENGTH.coerce(length)
        self.length = self.delay + 2 * RECALL
        self.baseline_loss = RECALL * math.log(N_SYMBOLS) / self.length

    def sample(
        self, rng: np.random.Generator, batch_size: int, split: Split = "train"
    ) -> Batch:
        symbols = rng.integers(1, N_SYMBOLS + 1, size=(batch_size, RECALL))
        one_hot = np.eye(ALPHABET, dtype=np.float32)
        # Written by layout rather than as one_hot[tokens]: ten times faster at T=1000.
        inputs = np.zeros((batch_size, self.length, ALPHABET), dtype=np.float32)
        inputs[:, :RECALL] = one_hot[symbols]
        inputs[:, RECALL:, BLANK] = 1.0
        inputs[:, self.delay + RECALL - 1] = one_hot[DELIMITER]
        targets = np.full((batch_size, self.length), BLANK, dtype=np.int64)
        targets[:, -RECALL:] = symbols
        return Batch(inputs=inputs, targets=targets)

    def headline_scores(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Per example, accuracy of ``argmax`` of logits ``[B, T+20, 10]`` over the last ten
        steps."""
        predicted = outputs[:, -RECALL:].argmax(axis=-1)
        return (predicted == targets[:, -RECALL:]).mean(axis=1)

    def is_solved(self, loss: float, headline: float) -> bool:
        return headline >= SOLVED_ACCURACY
