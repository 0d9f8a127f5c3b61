"""Associative recall: Zoology's multi-query associative recall (MQAR, Arora et al. 2023)
in a form a recurrent cell can be read out from at every step.

``pairs`` = P key–value pairs are shown one token per step (key, value, key, value, ...)
with distinct keys; after ``length`` = T blanks, each key is presented once again, in a
random order, and the model must answer with its value. Tokens, one-hot: 0 blank,
1..keys keys, keys+1..keys+values values. The targets are value indices 0..values-1 at
the P query steps and ``IGNORE_TARGET`` everywhere else, so the cross-entropy is
averaged over the query steps only. Values are drawn independently of the keys, so a
memoryless model (which sees only the queried key) can do no better than a uniform
guess: ``ln(values)``.
"""

from __future__ import annotations

import math

import numpy as np

from harness.errors import UsageError
from harness.tasks import IGNORE_TARGET, Batch, Parameter, Split, Task

BLANK = 0
SOLVED_ACCURACY = 0.99

LENGTH = Parameter(
    "length",
    int,
    default=50,
    help="blank steps T between the key-value pairs and the queries "
    "(sequence length 3*pairs+T)",
    minimum=0,
)
PAIRS = Parameter(
    "pairs", int, default=4, help="number P of key-value pairs, each queried once", minimum=1
)
KEYS = Parameter(
    "keys", int, default=8, help="size of the key alphabet, at least pairs", minimum=1
)
VALUES = Parameter("values", int, default=8, help="size of the value alphabet", minimum=2)


class RecallTask(Task):
    readout = "every_step"
    loss = "xent"
    headline = "recall_accuracy"

    def __init__(
        self,
        length: int = LENGTH.default,
        pairs: int = PAIRS.default,
        keys: int = KEYS.default,
        values: int = VALUES.default,
    ) -> None:
        self.gap = LENGTH.coerce(length)
        self.pairs = PAIRS.coerce(pairs)
        self.keys = KEYS.coerce(keys)
        self.values = VALUES.coerce(values)
        if self.keys < self.pairs:
            raise UsageError(
                f"keys must be >= pairs (the keys of a sequence are distinct), "
                f"got keys={self.keys} < pairs={self.pairs}"
            )
        self.input_size = 1 + self.keys + self.values
        self.output_size = self.values
        self.length = 2 * self.pairs + self.gap + self.pairs
        self.query_start = 2 * self.pairs + self.gap
        self.baseline_loss = math.log(self.values)
        self.chance = 1 / self.values
        self.solved_criterion = (
            f"recall accuracy >= {SOLVED_ACCURACY:g} at the {self.pairs} query steps"
        )

    def key_token(self, key: np.ndarray) -> np.ndarray:
        """Input token of key index ``0..keys-1``."""
        return 1 + key

    def value_token(self, value: np.ndarray) -> np.ndarray:
        """Input token of value index ``0..values-1``."""
        return 1 + self.keys + value

    def sample(
        self, rng: np.random.Generator, batch_size: int, split: Split = "train"
    ) -> Batch:
        p = self.pairs
        # The first P of a uniform random ordering: distinct keys, in a uniform order.
        keys = rng.random((batch_size, self.keys)).argsort(axis=1)[:, :p]
        values = rng.integers(0, self.values, size=(batch_size, p))
        order = rng.random((batch_size, p)).argsort(axis=1)  # which pair each query asks for
        rows = np.arange(batch_size)[:, None]
        query_keys, answers = keys[rows, order], values[rows, order]

        steps = np.arange(p)
        inputs = np.zeros((batch_size, self.length, self.input_size), dtype=np.float32)
        inputs[rows, 2 * steps, self.key_token(keys)] = 1.0
        inputs[rows, 2 * steps + 1, self.value_token(values)] = 1.0
        inputs[:, 2 * p : self.query_start, BLANK] = 1.0
        inputs[rows, self.query_start + steps, self.key_token(query_keys)] = 1.0
        targets = np.full((batch_size, self.length), IGNORE_TARGET, dtype=np.int64)
        targets[:, self.query_start :] = answers
        return Batch(inputs=inputs, targets=targets)

    def headline_scores(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Per example, accuracy of ``argmax`` of logits ``[B, 3P+T, values]`` at the query
        steps."""
        predicted = outputs[:, self.query_start :].argmax(axis=-1)
        return (predicted == targets[:, self.query_start :]).mean(axis=1)

    def is_solved(self, loss: float, headline: float) -> bool:
        return headline >= SOLVED_ACCURACY
