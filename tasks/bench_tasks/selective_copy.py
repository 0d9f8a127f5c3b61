"""The selective copy task (Gu et al. 2022, S4; Poli et al. 2023, MAD; Gu & Dao 2023, Mamba).

``tokens`` = K symbols are scattered at K distinct random positions among ``length`` = T
steps of blanks; after a delimiter the symbols must be reproduced in the order they
appeared. Unlike copy, where the symbols sit at fixed positions, a model must decide
from the content what to keep. Same alphabet as copy (0 blank, 1..8 symbols,
9 delimiter). Only the last K targets carry information, so a memoryless model that
predicts blanks and then guesses uniformly scores ``K·ln(8) / (T+1+K)``.
"""

from __future__ import annotations

import math

import numpy as np

from bench_tasks.copy import ALPHABET, BLANK, DELIMITER, N_SYMBOLS, SOLVED_ACCURACY
from harness.errors import UsageError
from harness.tasks import Batch, Parameter, Split, Task

LENGTH = Parameter(
    "length",
    int,
    default=100,
    help="steps T over which the symbols are scattered, at least tokens "
    "(sequence length T+1+tokens)",
    minimum=1,
)
TOKENS = Parameter("tokens", int, default=8, help="number K of symbols to recall", minimum=1)


class SelectiveCopyTask(Task):
    input_size = ALPHABET
    output_size = ALPHABET
    readout = "every_step"
    loss = "xent"
    headline = "recall_accuracy"
    chance = 1 / N_SYMBOLS

    def __init__(self, length: int = LENGTH.default, tokens: int = TOKENS.default) -> None:
        self.span = LENGTH.coerce(length)
        self.tokens = TOKENS.coerce(tokens)
        if self.tokens > self.span:
            raise UsageError(
                f"tokens must be <= length (K distinct positions among T), "
                f"got tokens={self.tokens} > length={self.span}"
            )
        self.length = self.span + 1 + self.tokens
        self.baseline_loss = self.tokens * math.log(N_SYMBOLS) / self.length
        self.solved_criterion = (
            f"recall accuracy >= {SOLVED_ACCURACY:g} over the last {self.tokens} positions of "
            "the sequence, the recalled symbols"
        )

    def sample(
        self, rng: np.random.Generator, batch_size: int, split: Split = "train"
    ) -> Batch:
        t, k = self.span, self.tokens
        # The K smallest of T uniform keys: a uniform K-subset of positions, per row.
        positions = np.sort(rng.random((batch_size, t)).argpartition(k - 1, axis=1)[:, :k], axis=1)
        symbols = rng.integers(1, N_SYMBOLS + 1, size=(batch_size, k))
        rows = np.arange(batch_size)[:, None]
        # Written by layout rather than as one_hot[tokens], as in copy.
        inputs = np.zeros((batch_size, self.length, ALPHABET), dtype=np.float32)
        inputs[:, :, BLANK] = 1.0
        inputs[rows, positions, BLANK] = 0.0
        inputs[rows, positions, symbols] = 1.0
        inputs[:, t, BLANK] = 0.0
        inputs[:, t, DELIMITER] = 1.0
        targets = np.full((batch_size, self.length), BLANK, dtype=np.int64)
        targets[:, t + 1 :] = symbols  # positions are sorted: the order of appearance
        return Batch(inputs=inputs, targets=targets)

    def headline_scores(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Per example, accuracy of ``argmax`` of logits ``[B, T+1+K, 10]`` over the last K
        steps."""
        predicted = outputs[:, -self.tokens :].argmax(axis=-1)
        return (predicted == targets[:, -self.tokens :]).mean(axis=1)

    def is_solved(self, loss: float, headline: float) -> bool:
        return headline >= SOLVED_ACCURACY
