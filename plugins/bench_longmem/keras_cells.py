"""The long-memory cells as Keras layers of bench's Keras backend, computing the equations
of :mod:`harness.longmem_reference` with ``keras.ops`` only (so on TensorFlow, JAX and
PyTorch alike).

Each is one layer over the whole sequence, not a cell that ``keras.layers.RNN`` steps:
what a step needs from the weights alone is computed once per sequence (expRNN's matrix
exponential, every input projection), IndRNN and expRNN then step with ``keras.ops.scan``
(kernel path ``loop``), and minGRU, minLSTM and the LRU, linear in their state, run a
parallel scan over time (``scan``) off the CPU and the step loop on it.
``bench_keras.cells.CellLayer`` wraps the layer and brings the backend's cell protocol;
variable names are the canonical ones, except ``W`` and ``b``, which are Keras's ``kernel``
and ``bias`` (``bench_keras.convert``).

Dropout follows the backend's Keras cells: in training only, one input mask per sequence
and, where a recurrent product reads the state, one mask per sequence on the state where
it enters it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench_keras.quiet_import import keras

import numpy as np
from keras import ops

from bench_keras.cells import LOOP, CellLayer
from bench_keras.convert import RENAMES
from bench_longmem.layout import SHAPES, shape_of
from harness.options import CellOptions

SCAN = "scan"
EXPM_TERMS = 12
EXPM_MAX_SQUARINGS = 10
"""The matrix exponential, which Keras 3 lacks (``keras.ops`` and ``keras.ops.linalg``
have none): scaling and squaring, exp(S) = (sum_{k<=12} (S/2^s)^k / k!)^(2^s), with the
fewest squarings s that bring ||S||_1 / 2^s to 0.5 or less (truncation error below 1e-13),
as torch's ``matrix_exp`` chooses them by the norm. Each squaring can double the rounding
error, hence no more of them than needed; the loop always runs :data:`EXPM_MAX_SQUARINGS`
(enough for ||S||_1 <= 512), squaring only while s asks, so one graph serves every S."""


def expm(matrix):
    """exp(``matrix``) by Taylor series and repeated squaring (:data:`EXPM_TERMS`)."""
    norm = ops.max(ops.sum(ops.abs(matrix), axis=0))
    squarings = ops.clip(ops.ceil(ops.log2(ops.maximum(norm, 1e-30) / 0.5)), 0.0,
                         float(EXPM_MAX_SQUARINGS))
    scaled = matrix / ops.power(2.0, squarings)
    identity = ops.eye(ops.shape(matrix)[0], dtype=matrix.dtype)
    result = identity
    for k in range(EXPM_TERMS, 0, -1):  # Horner: I + S/1 (I + S/2 (I + ...))
        result = identity + ops.matmul(scaled, result) / float(k)
    for done in range(EXPM_MAX_SQUARINGS):
        result = ops.where(done < squarings, ops.matmul(result, result), result)
    return result


def skew_symmetric(skew, hidden: int):
    """The skew-symmetric [H, H] matrix whose strictly upper triangle, row by row, is
    ``skew`` (a gather, so it differentiates on every Keras backend)."""
    index = np.zeros((hidden, hidden), np.int32)
    index[np.triu_indices(hidden, 1)] = np.arange(1, hidden * (hidden - 1) // 2 + 1)
    upper = ops.take(ops.concatenate([ops.zeros((1,), skew.dtype), skew]), index)
    return upper - ops.transpose(upper)


def _time_major(x):
    return ops.transpose(x, (1, 0, 2))


class SequenceLayer(keras.layers.Layer):
    """One long-memory cell over a whole sequence: ``layer(x, training)`` ->
    ``[outputs [batch, time, H], last output]``."""

    cell_name: str
    """Whose weights :data:`bench_longmem.layout.SHAPES` lists."""
    kernel_path = LOOP

    def __init__(self, hidden: int, options: CellOptions):
        super().__init__(name=self.cell_name)
        self.hidden = hidden
        self.options = options
        self.seed_generator = keras.random.SeedGenerator()

    def build(self, input_shape: tuple) -> None:
        for name, dims in SHAPES[self.cell_name].items():
            setattr(self, name, self.add_weight(
                shape=shape_of(dims, input_shape[-1], self.hidden), initializer="zeros",
                name=RENAMES.get(name, name)))

    def call(self, x, training: bool = False):
        if training and self.options.dropout:
            x = x * self._mask((ops.shape(x)[0], 1, ops.shape(x)[2]), self.options.dropout)
        state_mask = None
        if training and self.options.recurrent_dropout:
            state_mask = self._mask((ops.shape(x)[0], self.hidden),
                                    self.options.recurrent_dropout)
        outputs = self._sequence(x, state_mask)
        return [outputs, outputs[:, -1]]

    def select_kernel(self, device: str) -> str:
        """The path :class:`CellLayer` reports; a linear cell picks it by device."""
        return self.kernel_path

    def _mask(self, shape, rate: float):
        """Inverted dropout: 0 with probability ``rate``, else 1 / (1 - rate)."""
        return keras.random.dropout(ops.ones(shape), rate, seed=self.seed_generator)

    def _sequence(self, x, state_mask):
        raise NotImplementedError

    def _loop(self, step, inputs, state_mask):
        """h_t = step(masked h_{t-1}, inputs_t) from h = 0, over axis 1 of ``inputs``."""
        def scan_step(h, input_t):
            h = step(h if state_mask is None else h * state_mask, input_t)
            return h, h

        initial = ops.zeros((ops.shape(inputs)[0], self.hidden), inputs.dtype)
        _, outputs = ops.scan(scan_step, initial, _time_major(inputs))
        return _time_major(outputs)


class IndRNN(SequenceLayer):
    """h_t = relu(x_t W + u * h_{t-1} + b)."""

    cell_name = "indrnn"

    def _sequence(self, x, state_mask):
        return self._loop(lambda h, xw_t: ops.relu(xw_t + self.u * h),
                          ops.matmul(x, self.W) + self.b, state_mask)


class ExpRNN(SequenceLayer):
    """h_t = modrelu(x_t W + h_{t-1} expm(S), b), the exponential taken once per sequence."""

    cell_name = "exprnn"

    def _sequence(self, x, state_mask):
        recurrent = expm(skew_symmetric(self.skew, self.hidden))

        def step(h, xw_t):
            z = xw_t + ops.matmul(h, recurrent)
            return ops.sign(z) * ops.relu(ops.abs(z) + self.b)

        return self._loop(step, ops.matmul(x, self.W), state_mask)


def linear_scan(combine, elements: tuple, parallel: bool) -> tuple:
    """The inclusive scan over axis 1 of every array in ``elements`` with the associative
    ``combine(earlier, later)``: in parallel (:func:`parallel_scan`) when asked and the
    length is known when the graph is built (always on JAX; on TensorFlow unless one graph
    serves several lengths, as ``reduce_retracing`` makes it for the kit's mixed lengths),
    else step by step with ``keras.ops.scan``. Both compute the same function."""
    length = elements[0].shape[1]
    if parallel and length is not None:
        return parallel_scan(combine, elements, length)
    # One stacked array [time, len(elements), batch, H], since Keras's TensorFlow scan
    # fails on several arrays of unknown length.
    count = len(elements)

    def step(carry, element):
        carry = ops.stack(combine(tuple(carry[k] for k in range(count)),
                                  tuple(element[k] for k in range(count))))
        return carry, carry

    stacked = ops.stack([_time_major(e) for e in elements], axis=1)
    _, outputs = ops.scan(step, ops.zeros_like(stacked[0]), stacked)
    return tuple(_time_major(outputs[:, k]) for k in range(count))


def parallel_scan(combine, elements: tuple, length: int) -> tuple:
    """Hillis & Steele's: log2(``length``) passes, as the torch version
    (``bench_longmem.torch_cells.parallel_scan``). ``keras.ops.associative_scan`` is not
    used: on TensorFlow its graph fails for a sequence of one step."""
    offset = 1
    while offset < length:
        combined = combine(tuple(e[:, :-offset] for e in elements),
                           tuple(e[:, offset:] for e in elements))
        elements = tuple(ops.concatenate([e[:, :offset], c], axis=1)
                         for e, c in zip(elements, combined, strict=True))
        offset *= 2
    return elements


def _combine(earlier, later):
    """Two pieces of h_t = keep_t * h_{t-1} + add_t as one: (keep, add) pairs."""
    return earlier[0] * later[0], later[0] * earlier[1] + later[1]


def _combine_complex(earlier, later):
    """The same with complex keep and add as (real, imaginary) pairs."""
    (a_re, a_im, b_re, b_im), (c_re, c_im, d_re, d_im) = earlier, later
    return (a_re * c_re - a_im * c_im, a_re * c_im + a_im * c_re,
            c_re * b_re - c_im * b_im + d_re, c_re * b_im + c_im * b_re + d_im)


def positive_activation(v):
    """g(v) = v + 0.5 for v >= 0, sigmoid(v) otherwise."""
    return ops.where(v >= 0, v + 0.5, ops.sigmoid(v))


class LinearLayer(SequenceLayer):
    """A cell linear in its state: the parallel scan off the CPU, the step loop on it, where
    it measured about 3x faster (docs/cells.md)."""

    def select_kernel(self, device: str) -> str:
        self.kernel_path = LOOP if device == "cpu" else SCAN
        return self.kernel_path

    def _scan(self, combine, elements: tuple) -> tuple:
        return linear_scan(combine, elements, parallel=self.kernel_path == SCAN)


class MinGRU(LinearLayer):
    """h_t = (1 - z_t) * h_{t-1} + z_t * g(x_t W_h + b_h), z_t = sigmoid(x_t W_z + b_z)."""

    cell_name = "mingru"

    def _sequence(self, x, state_mask):
        k_z, k_h = ops.split(ops.matmul(x, self.W) + self.b, 2, axis=-1)
        z = ops.sigmoid(k_z)
        return self._scan(_combine, (1.0 - z, z * positive_activation(k_h)))[1]


class MinLSTM(LinearLayer):
    """h_t = f'_t * h_{t-1} + i'_t * g(x_t W_h + b_h), f' and i' normalised to sum to 1."""

    cell_name = "minlstm"

    def _sequence(self, x, state_mask):
        k_f, k_i, k_h = ops.split(ops.matmul(x, self.W) + self.b, 3, axis=-1)
        f, i = ops.sigmoid(k_f), ops.sigmoid(k_i)
        return self._scan(
            _combine, (f / (f + i), i / (f + i) * positive_activation(k_h)))[1]


class LRU(LinearLayer):
    """s_t = lambda * s_{t-1} + gamma * (x_t B), complex as (real, imaginary) pairs;
    y_t = Re(s_t C) + x_t D."""

    cell_name = "lru"

    def _sequence(self, x, state_mask):
        gamma = ops.exp(self.gamma_log)
        b_re, b_im = ops.split(ops.matmul(x, self.W), 2, axis=-1)
        radius = ops.exp(-ops.exp(self.nu_log))
        angle = ops.exp(self.theta_log)
        ones = ops.ones_like(b_re)
        _, _, s_re, s_im = self._scan(
            _combine_complex, (ones * radius * ops.cos(angle), ones * radius * ops.sin(angle),
                               gamma * b_re, gamma * b_im))
        c_re, c_im = ops.split(self.C, 2, axis=0)
        return ops.matmul(s_re, c_re) - ops.matmul(s_im, c_im) + ops.matmul(x, self.D)


LAYERS: dict[str, type[SequenceLayer]] = {
    layer.cell_name: layer for layer in (IndRNN, ExpRNN, MinGRU, MinLSTM, LRU)}


def build_cell(name: str, input_size: int, hidden: int, options: Mapping[str, Any]
               ) -> CellLayer:
    """The long-memory cell ``name`` as the backend's :class:`CellLayer`."""
    parsed = CellOptions.parse(options)
    layer = LAYERS[name](hidden, parsed)
    return CellLayer(name, layer, input_size, parsed, layer.kernel_path)
