"""Sequential and permuted digits: scikit-learn's bundled 8×8 handwritten digits
(``sklearn.datasets.load_digits``, 1,797 images, no download) read pixel by pixel as a
64-step sequence of one feature, the class read at the last step. With ``permuted`` the
pixels are read in a fixed random order, the idea of permuted sequential MNIST
(Le et al. 2015): neighbouring pixels end up far apart in time.

Real data, so a fixed stratified train/test split: training batches are drawn with
replacement from the train part; the held-out set is the whole test part, in a fixed
order, the same for every run. The baseline is the best predictor that ignores the
input, the train-class prior, scored on the test part. A cell with no memory at all
still sees the last pixel, which alone does a little better (measured with the fixed
split and order: cross-entropy 2.246 and accuracy 0.13 plain, 2.021 and 0.24 permuted,
against 2.302 and 0.10), so a loss/baseline just under 1 is no proof of memory here.
"""

from __future__ import annotations

import functools

import numpy as np

from harness.errors import BenchError
from harness.tasks import Batch, Parameter, Split, Task

N_PIXELS = 64
N_CLASSES = 10
MAX_PIXEL = 16.0  # load_digits pixels are integers 0..16
TEST_SIZE = 0.2  # 360 of the 1,797 images
SPLIT_SEED = 0  # random_state of the stratified train/test split
PERMUTATION_SEED = 1234  # the one fixed pixel order of the permuted variant
SOLVED_ACCURACY = 0.9

PERMUTED = Parameter(
    "permuted",
    bool,
    default=False,
    help="read the pixels in a fixed random order (as permuted sequential MNIST)",
)


@functools.cache
def dataset() -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``[1797, 64]`` float32 in [0, 1] and labels ``[1797]`` int64, loaded once."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise BenchError("task 'digits' needs scikit-learn: pip install scikit-learn") from None
    digits = load_digits()
    pixels = (digits.data / MAX_PIXEL).astype(np.float32)
    pixels.flags.writeable = False
    labels = digits.target.astype(np.int64)
    labels.flags.writeable = False
    return pixels, labels


@functools.cache
def train_test_indices() -> tuple[np.ndarray, np.ndarray]:
    """Indices of the train and test parts (each sorted): fixed, stratified by class."""
    from sklearn.model_selection import train_test_split

    _, labels = dataset()
    train, test = train_test_split(
        np.arange(len(labels)), test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=labels
    )
    train, test = np.sort(train), np.sort(test)
    train.flags.writeable = False
    test.flags.writeable = False
    return train, test


@functools.cache
def permutation() -> np.ndarray:
    """The fixed pixel order of the permuted variant."""
    order = np.random.default_rng(PERMUTATION_SEED).permutation(N_PIXELS)
    order.flags.writeable = False
    return order


class DigitsTask(Task):
    input_size = 1
    output_size = N_CLASSES
    length = N_PIXELS
    readout = "last_step"
    loss = "xent"
    headline = "accuracy"
    solved_criterion = f"accuracy >= {SOLVED_ACCURACY:g} on the test split"

    def __init__(self, permuted: bool = PERMUTED.default) -> None:
        self.permuted = PERMUTED.coerce(permuted)
        self.order = permutation() if self.permuted else np.arange(N_PIXELS)
        pixels, labels = dataset()
        self.train, self.test = train_test_indices()
        prior = np.bincount(labels[self.train], minlength=N_CLASSES) / len(self.train)
        test_labels = labels[self.test]
        self.prior = prior
        self.baseline_loss = float(-np.log(prior[test_labels]).mean())
        self.chance = float((test_labels == prior.argmax()).mean())

    def _batch(self, indices: np.ndarray) -> Batch:
        pixels, labels = dataset()
        inputs = pixels[indices[:, None], self.order][..., None]
        return Batch(inputs=inputs, targets=labels[indices])

    def sample(
        self, rng: np.random.Generator, batch_size: int, split: Split = "train"
    ) -> Batch:
        if split not in ("train", "eval"):
            raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
        part = self.train if split == "train" else self.test
        return self._batch(part[rng.integers(0, len(part), size=batch_size)])

    def held_out(self, rng: np.random.Generator, size: int) -> Batch:
        """The whole test split in a fixed order, whatever ``rng`` and ``size``."""
        return self._batch(self.test)

    def headline_scores(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """1 where ``argmax`` of logits ``[B, 10]`` is the label, else 0."""
        return (outputs.argmax(axis=-1) == targets).astype(float)

    def is_solved(self, loss: float, headline: float) -> bool:
        return headline >= SOLVED_ACCURACY

