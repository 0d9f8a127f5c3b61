"""The adding problem in its modern form (Le et al. 2015; Arjovsky et al. 2016).

Two channels: values drawn from U(0,1) and a marker channel with one 1 in each half;
the target is the sum of the two marked values. The best memoryless prediction is the
mean, 1, whose MSE is Var(U1 + U2) = 1/6.
"""

from __future__ import annotations

import numpy as np

from harness.tasks import Batch, Parameter, Split, Task

TOLERANCE = 0.04  # Hochreiter & Schmidhuber's accuracy criterion
SOLVED_MSE = 0.01  # about 6% of the baseline

LENGTH = Parameter("length", int, default=100, help="sequence length T", minimum=2)


class AddingTask(Task):
    input_size = 2
    output_size = 1
    readout = "last_step"
    loss = "mse"
    baseline_loss = 1 / 6
    headline = "accuracy"
    # P(|U1 + U2 - 1| < tol): the sum's density is 1 - |s - 1| on [0, 2].
    chance = 1 - (1 - TOLERANCE) ** 2
    solved_criterion = f"MSE <= {SOLVED_MSE:g}"

    def __init__(self, length: int = LENGTH.default) -> None:
        self.length = LENGTH.coerce(length)

    def sample(
        self, rng: np.random.Generator, batch_size: int, split: Split = "train"
    ) -> Batch:
        half = self.length // 2
        values = rng.random((batch_size, self.length), dtype=np.float32)
        rows = np.arange(batch_size)
        first = rng.integers(0, half, size=batch_size)
        second = rng.integers(half, self.length, size=batch_size)
        markers = np.zeros((batch_size, self.length), dtype=np.float32)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        targets = values[rows, first] + values[rows, second]
        return Batch(inputs=np.stack([values, markers], axis=-1), targets=targets[:, None])

    def headline_scores(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """1 where an output ``[B, 1]`` is within the tolerance of its target, else 0."""
        return (np.abs(outputs - targets) < TOLERANCE).astype(float)[:, 0]

    def is_solved(self, loss: float, headline: float) -> bool:
        return loss <= SOLVED_MSE
