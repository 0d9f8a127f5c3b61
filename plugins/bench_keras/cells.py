"""The standard cells as Keras layers, with the equations of docs/architecture.md §5.

Every cell here (and any Keras cell a third-party plugin registers for this backend)
follows one small protocol, which :mod:`bench_keras.trainer` and :mod:`bench_keras.probe`
rely on:

* ``factory(input_size: int, hidden: int, options: dict) -> layer``, built: every variable
  exists when it returns (Keras 3 creates variables in ``build()``, and a sublayer only when
  it is built or first called); ``options`` may hold ``dropout`` and ``recurrent_dropout``
  (:class:`harness.options.CellOptions`), passed to Keras's arguments of those names.
* ``layer(x, training=...)``, ``x`` [batch, time, input] -> ``(outputs [batch, time,
  hidden], final_state)``, the final state a tuple: ``(h, c)`` for ``lstm``, ``(h,)``
  otherwise.
* ``load_canonical(weights)`` / ``export_canonical() -> weights`` in the canonical layout
  of :mod:`harness.canonical`.
* ``keras_variables() -> {name: keras.Variable}``: the trainable variables by their Keras
  names; the probe takes the gradients of these.
* ``cell_name``: the name the cell is registered under. It selects the conversion between
  the Keras variables and the canonical weights in :mod:`bench_keras.convert` (``gru``
  permutes gate blocks; any other name renames ``kernel``, ``recurrent_kernel``, ``bias``
  to ``W``, ``U``, ``b`` and keeps every other name), for weights and gradients alike.
* ``select_kernel(device) -> kernel_path``, called once before the first forward pass.

A plugin's own cell need not implement any of this: write a Keras RNN cell (the class
``keras.layers.RNN`` steps: ``state_size``, ``call(inputs, states, training)``) and let
:func:`recurrent_layer` wrap it in :class:`CellLayer`, which brings the whole protocol.
Its weights are those names: a weight of its own (``self.add_weight(name="leak")``) is a
canonical weight of that name.

Kernel paths (which code computes the recurrence):

* ``fused:cudnn`` — ``lstm`` and ``gru`` with ``recurrent_dropout`` 0 on a ``cuda`` device
  whose cuDNN the Keras backend sees. The layer is then built with ``use_cudnn=True``, so
  on TensorFlow Keras raises rather than quietly running anything else.
* ``keras:LSTM`` / ``keras:GRU`` — the same layers anywhere else (``use_cudnn=False``):
  Keras's own step loop over its cell (a ``tf.while_loop`` inside the compiled step on
  TensorFlow, Keras's PyTorch loop on the torch backend).
* ``keras:SimpleRNN`` — ``rnn``: Keras has no fused kernel for it.
* ``loop`` — ``lnrnn``: ``keras.layers.RNN`` stepping the custom cell below.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from bench_keras.quiet_import import keras

import numpy as np
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from bench_keras import convert
from bench_keras.framework import cudnn_available
from harness.canonical import Weights
from harness.errors import UnknownNameError
from harness.options import CellOptions
from harness.reference import LAYER_NORM_EPSILON

LOOP = "loop"
FUSED = "fused:cudnn"


class LNSimpleRNNCell(keras.layers.Layer, DropoutRNNCell):
    """The seed text's cell (Géron, *Hands-On ML*, ch. 15): a SimpleRNNCell without
    activation, then LayerNormalization (epsilon 1e-3), then tanh.

    The dropout masks are this cell's, applied before the inner SimpleRNNCell exactly where
    that cell would apply its own: ``keras.layers.RNN`` prepares (outside the step loop) and
    resets the masks of the cell it runs only, so the inner cell's would be drawn inside
    the loop. Mixing in Keras's ``DropoutRNNCell`` is what its built-in cells do.
    """

    def __init__(self, units: int, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.units = self.state_size = self.output_size = units
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.seed_generator = keras.random.SeedGenerator()
        self.simple_rnn_cell = keras.layers.SimpleRNNCell(units, activation=None)
        self.layer_norm = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON)
        self.activation = keras.activations.tanh

    def build(self, input_shape: tuple) -> None:
        self.simple_rnn_cell.build(input_shape)
        self.layer_norm.build((input_shape[0], self.units))

    def call(self, inputs, states, training: bool = False):
        h = states[0]
        if training:
            input_mask = self.get_dropout_mask(inputs)
            state_mask = self.get_recurrent_dropout_mask(h)
            inputs = inputs if input_mask is None else inputs * input_mask
            h = h if state_mask is None else h * state_mask
        z, _ = self.simple_rnn_cell(inputs, [h])
        output = self.activation(self.layer_norm(z))
        return output, [output]


class CellLayer(keras.layers.Layer):
    """One cell: a Keras recurrent layer plus canonical weights and kernel choice, the
    protocol above for any ``keras.layers.RNN`` (``cell_name`` picks the conversion), or
    any layer that returns ``[outputs, *state]`` as ``keras.layers.RNN(...,
    return_sequences=True, return_state=True)`` does (a sequence layer of a plugin's own,
    such as ``bench_longmem.keras_cells``)."""

    def __init__(self, cell_name: str, rnn: keras.layers.RNN, input_size: int,
                 options: CellOptions, path: str):
        super().__init__(name=cell_name)
        self.cell_name = cell_name
        self.rnn = rnn
        self.options = options
        self.kernel_path = path
        self._unfused_path = path
        # Keras's own error for input that is not [batch, time, input], for every cell: a
        # keras.layers.RNN around a cell of its own (lnrnn) checks no rank and failed deep
        # inside TensorFlow (a StridedSlice), a plugin's sequence layer in numpy.
        self.input_spec = keras.InputSpec(ndim=3)
        if type(getattr(rnn, "cell", rnn)).build is keras.layers.Layer.build:
            # A cell without build() (the textbook's LNSimpleRNNCell) creates its sublayers'
            # variables on its first call only: one step of zeros creates them now (and
            # Keras's warning that build() left them unbuilt no longer applies).
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"`build\(\)` was called on layer")
                self.rnn(np.zeros((1, 1, input_size), np.float32))
        else:
            self.rnn.build((None, None, input_size))
        self.built = True

    def call(self, inputs, training: bool = False):
        if 0 in tuple(inputs.shape)[:2]:  # Keras's own errors came from deep inside TensorFlow
            raise ValueError(f"cell {self.cell_name} needs at least one sequence of at least "
                             f"one step, not inputs of shape {list(inputs.shape)}")
        outputs, *state = self.rnn(inputs, training=training)
        return outputs, tuple(state)

    def select_kernel(self, device: str) -> str:
        """Use cuDNN where Keras can for these options on ``device``, else Keras's loop; a
        sequence layer of a plugin's own with a ``select_kernel`` chooses for itself."""
        if hasattr(self.rnn, "select_kernel"):
            self.kernel_path = self.rnn.select_kernel(device)
            return self.kernel_path
        fusable = isinstance(self.rnn, keras.layers.LSTM | keras.layers.GRU)
        fused = fusable and not self.options.recurrent_dropout and cudnn_available(device)
        self.kernel_path = FUSED if fused else self._unfused_path
        if fusable:
            self.rnn.use_cudnn = fused
        return self.kernel_path

    def keras_variables(self) -> dict[str, keras.Variable]:
        """The cell's trainable variables by Keras name (``kernel``, ``bias``, ...)."""
        return {v.name: v for v in self.rnn.trainable_weights}

    def load_canonical(self, weights: Weights) -> None:
        expected = {name: value.shape for name, value in self.export_canonical().items()}
        given = {name: np.shape(value) for name, value in weights.items()}
        if given != expected:
            raise ValueError(f"cell {self.cell_name!r} takes canonical weights {expected} "
                             f"(its Keras variables, converted by bench_keras.convert), got "
                             f"{given}")
        arrays = convert.to_keras(self.cell_name, weights)
        for name, variable in self.keras_variables().items():
            variable.assign(np.asarray(arrays[name], dtype=np.float32))

    def export_canonical(self) -> Weights:
        arrays = {name: v.numpy() for name, v in self.keras_variables().items()}
        return convert.to_canonical(self.cell_name, arrays)


def recurrent_layer(cell_name: str, cell_class: type[keras.layers.Layer], input_size: int,
                    hidden: int, options: Mapping[str, Any]) -> CellLayer:
    """A Keras RNN cell class, stepped by ``keras.layers.RNN`` (kernel path ``loop``), as
    the protocol asks: what a plugin's factory returns for a cell of its own.

    ``cell_class(hidden, dropout=..., recurrent_dropout=...)`` is built; a rate that is 0
    is not passed, so a cell without those arguments works when its ``Cell.options`` are
    empty (bench then refuses the options).
    """
    parsed = CellOptions.parse(options)
    rates = {"dropout": parsed.dropout, "recurrent_dropout": parsed.recurrent_dropout}
    cell = cell_class(hidden, **{name: rate for name, rate in rates.items() if rate})
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    return CellLayer(cell_name, rnn, input_size, parsed, LOOP)


def _one_mask_for_every_gate(cell: keras.layers.Layer) -> None:
    """Keras's LSTM and GRU cells with ``recurrent_dropout`` (their implementation 1) draw
    a mask per gate, for the inputs and for the state; everywhere else (without it, in
    ``rnn`` and ``lnrnn``, in the torch cells) one mask per sequence multiplies the inputs and
    one the state, for every gate. This cell draws one and hands it to every gate, so the
    same options regularise alike in every cell and framework."""
    count = getattr(cell, "dropout_mask_count", None)
    if count is None:
        return

    def create(step_input, rate: float) -> list:
        mask = keras.random.dropout(keras.ops.ones_like(step_input), rate=rate,
                                    seed=cell.seed_generator)
        return [mask] * count

    cell._create_dropout_mask = create  # what DropoutRNNCell.get_*dropout_mask call


def build_cell(cell_name: str, input_size: int, hidden: int,
               options: Mapping[str, Any]) -> CellLayer:
    """The factory of every cell this plugin registers (bound to its name)."""
    if cell_name == "lnrnn":
        return recurrent_layer(cell_name, LNSimpleRNNCell, input_size, hidden, options)
    parsed = CellOptions.parse(options)
    rates = {"dropout": parsed.dropout, "recurrent_dropout": parsed.recurrent_dropout}
    outputs = {"return_sequences": True, "return_state": True}
    layers = {
        "rnn": keras.layers.SimpleRNN,
        "lstm": keras.layers.LSTM,
        "gru": keras.layers.GRU,
    }
    if cell_name not in layers:
        raise UnknownNameError("Keras cell", cell_name, [*layers, "lnrnn"])
    extra = {"reset_after": True} if cell_name == "gru" else {}
    rnn = layers[cell_name](hidden, **rates, **outputs, **extra)
    _one_mask_for_every_gate(rnn.cell)
    return CellLayer(cell_name, rnn, input_size, parsed, f"keras:{type(rnn).__name__}")
