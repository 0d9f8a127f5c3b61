"""The leaky LN-RNN as a Keras RNN cell of bench's Keras backend.

It extends the backend's ``LNSimpleRNNCell`` (a SimpleRNNCell without activation, then
LayerNormalization, then tanh, with Keras-style dropout masks): ``build()`` adds the one
weight of its own, ``leak``, and ``call()`` mixes the new state with the previous one.
``bench_keras.cells.recurrent_layer`` steps it with ``keras.layers.RNN`` and brings the rest
of the backend's cell protocol; the canonical weight names are the Keras variables' names,
``kernel``, ``recurrent_kernel`` and ``bias`` renamed ``W``, ``U`` and ``b``.
"""

from __future__ import annotations

from keras import ops

from bench_keras.cells import LNSimpleRNNCell


class LeakyLNCell(LNSimpleRNNCell):
    """h_t = a * h_{t-1} + (1 - a) * tanh(LN(x_t W + h_{t-1} U + b)), a = sigmoid(leak)."""

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        self.leak = self.add_weight(shape=(self.units,), initializer="zeros", name="leak")

    def call(self, inputs, states, training: bool = False):
        candidate, _ = super().call(inputs, states, training=training)
        keep = ops.sigmoid(self.leak)
        h = keep * states[0] + (1.0 - keep) * candidate
        return h, [h]
