"""The plugin author's path for Keras: the textbook's LNSimpleRNNCell, written as the book
writes it (no ``build()``, no dropout arguments), registered from outside as a cell of its
own passes the whole kit, reference included, through ``bench check``'s own planning."""

from __future__ import annotations

from functools import partial

import keras
import numpy as np
import pytest

from bench_keras import convert
from bench_keras.cells import recurrent_layer
from harness import hookimpl
from harness.canonical import init_lnrnn
from harness.conformance import run_checks
from harness.reference import lnrnn
from harness.registry import Cell
from tests.helpers import make_host


class LNSimpleRNNCell(keras.layers.Layer):
    """Géron, *Hands-On Machine Learning*, ch. 15, for Keras 3."""

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.state_size = units
        self.output_size = units
        self.simple_rnn_cell = keras.layers.SimpleRNNCell(units, activation=None)
        self.layer_norm = keras.layers.LayerNormalization()
        self.activation = keras.activations.get(activation)

    def call(self, inputs, states):
        outputs, new_states = self.simple_rnn_cell(inputs, states)
        norm_outputs = self.activation(self.layer_norm(outputs))
        return norm_outputs, [norm_outputs]


def _raising_factory(input_size, hidden, options):
    raise RuntimeError("no layer today")


class TextbookPlugin:
    @hookimpl
    def bench_register_cells(self, register):
        register(Cell("textbook", "keras", factory=partial(recurrent_layer, "textbook",
                                                            LNSimpleRNNCell),
                      initializer=init_lnrnn, options=(), reference=lnrnn,
                      description="the textbook's LNSimpleRNNCell"))
        register(Cell("raising", "keras", factory=_raising_factory, initializer=init_lnrnn,
                      options=()))


@pytest.fixture(scope="module")
def host():
    return make_host("tasks", "keras", textbook=TextbookPlugin())


def test_the_textbook_cell_passes_every_check_and_its_registered_reference(host):
    results = run_checks(host.registry, cells=["keras:textbook"])

    by_check = {r.check: r for r in results if r.subject == "keras:textbook"}
    assert not [r.describe() for r in results if r.failed]
    assert by_check["reference"].outcome == "passed"
    assert by_check["construct"].message == "loop, 50 parameters"


def test_a_fix_hint_names_the_cells_own_backend(host):
    (construct,) = [r for r in run_checks(host.registry, cells=["keras:raising"])
                    if r.check == "construct"]

    assert construct.failed and "RuntimeError: no layer today" in construct.message
    assert "cell protocol of backend 'keras' (bench_keras.cells)" in construct.fix
    assert "bench_torch" not in construct.fix


def test_weights_beyond_the_standard_names_keep_their_names():
    leak = np.arange(3.0, dtype=np.float32)
    arrays = {"kernel": np.ones((2, 3)), "leak": leak}

    canonical = convert.to_canonical("x", arrays)
    assert list(canonical) == ["W", "leak"] and canonical["leak"] is not None
    np.testing.assert_array_equal(convert.to_keras("x", canonical)["leak"], leak)
