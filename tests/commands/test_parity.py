"""``bench parity``: every standard cell agrees across backends; a planted mismatch fails."""

from __future__ import annotations

import json
import re
from functools import partial

import numpy as np
import pytest

import harness.cli
import harness.plugins
from bench_keras import plugin as keras_plugin
from harness import hookimpl
from harness.canonical import init_lstm
from harness.catalogue import STANDARD_CELLS
from harness.cli import main
from harness.errors import UnknownNameError, UsageError
from harness.parity import CellParity, Difference, check_parity, compare, parity_answer
from harness.plugins import PluginHost
from harness.registry import Backend, Cell
from harness.trainer import CellProbe
from tests.helpers import make_host


class SkewedKeras:
    """A test backend that probes ``lstm`` with Keras on a slightly wrong recurrent kernel."""

    @hookimpl
    def bench_register_backends(self, register):
        def probe(cell, weights, inputs, cotangent, options):
            skewed = {**weights, "U": weights["U"] + np.float32(1e-3)}
            return keras_plugin.probe_cell(cell, skewed, inputs, cotangent, options)

        register(Backend(name="skewed", framework="Keras", version=None, available=True,
                         build_trainer=keras_plugin.build_trainer,
                         list_devices=lambda: ["cpu"], probe_cell=probe))

    @hookimpl
    def bench_register_cells(self, register):
        register(Cell("lstm", "skewed", factory=partial(keras_plugin.build_cell, "lstm"),
                      initializer=init_lstm))


@pytest.fixture(scope="module")
def both():
    pytest.importorskip("torch")
    pytest.importorskip("keras")
    return make_host("torch", "keras")


@pytest.fixture(scope="module")
def skewed():
    pytest.importorskip("keras")
    host = PluginHost(discover=False)
    host.register(keras_plugin, "keras")
    host.register(SkewedKeras(), "skewed")
    return host


@pytest.fixture
def cli(monkeypatch):
    """``install(host)`` makes a host the default one for ``main``."""

    def install(host: PluginHost) -> None:
        monkeypatch.setattr(harness.plugins, "_default_host", host)

    return install


def test_every_standard_cell_agrees_across_backends_with_fused_paths(both):
    results = check_parity(both.registry, None)

    assert {r.cell for r in results} == set(STANDARD_CELLS)
    assert all(r.ok for r in results), [r.to_dict() for r in results if not r.ok]
    quantities = {r.cell: [d.quantity for d in r.differences] for r in results}
    assert quantities["lstm"] == ["outputs", "final h", "final c", "d inputs", "d W", "d U",
                                  "d b"]
    assert "d b_rec" in quantities["gru"] and "d gamma" in quantities["lnrnn"]


def test_cli_table_and_json(capsys, cli, both):
    cli(both)
    assert main(["parity", "--cells", "lstm,gru", "--length", "5", "--hidden", "4"]) == 0
    out = capsys.readouterr().out
    assert "lstm" in out and "gru" in out
    assert re.fullmatch(r"Keras and torch agree on 2 cells \(14 outputs, states and gradients\) "
                        r"within float32 tolerance; the closest: (lstm|gru) d?[\w ]+, \S+ of "
                        r"the \S+ allowed\.", out.splitlines()[-1])

    assert main(["parity", "--cells", "rnn", "--json", "--batch", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["tolerance"] == {"atol": 1e-5, "rtol": 1e-4}
    (result,) = data["results"]
    assert {result["reference"], result["backend"]} == {"torch", "keras"}
    assert all(d["ok"] and d["max_abs_diff"] < d["tolerance"] for d in result["differences"])


def test_a_planted_mismatch_is_caught(capsys, cli, skewed):
    (result,) = check_parity(skewed.registry, ["lstm"], length=5, hidden=4)
    assert (result.reference, result.backend, result.ok) == ("keras", "skewed", False)
    failed = {d.quantity for d in result.differences if not d.ok}
    assert {"outputs", "final h", "d U"} <= failed

    cli(skewed)
    assert main(["parity", "--length", "5", "--hidden", "4"]) == 1
    out = capsys.readouterr().out
    # only the recurrent kernel is off, which step 0 (from a zero state) does not use
    assert re.search(r" outputs .* MISMATCH: from step 1$", out, re.M)
    assert re.fullmatch(r"The backends disagree on 1 of 1 cell: lstm \(skewed against keras: "
                        r"[\w ]+ differs by \S+, over the \S+ allowed\)\.", out.splitlines()[-1])


def test_the_answer_names_the_closest_call_or_each_disagreeing_cells_worst_quantity():
    agree = CellParity("lstm", "torch", "keras", [Difference("outputs", 1e-6, 1.0),
                                                  Difference("d W", 5e-5, 1.0)])
    other = CellParity("gru", "torch", "keras", [Difference("d U", 2e-5, 2.0)])
    assert parity_answer([agree, other]) == (
        "Keras and torch agree on 2 cells (3 outputs, states and gradients) within float32 "
        "tolerance; the closest: lstm d W, 5e-05 of the 0.00011 allowed.")
    missing = CellParity("gru", "torch", "keras", [Difference("d U", 2e-5, 2.0),
                                                   Difference("final c", np.inf, 1.0,
                                                              "missing from the probe")])
    assert parity_answer([agree, missing]) == (
        "The backends disagree on 1 of 2 cells: gru (keras against torch: final c: missing "
        "from the probe).")
    late = CellParity("rnn", "torch", "keras", [Difference("outputs", 0.5, 1.0, "from step 3")])
    assert parity_answer([late]) == (
        "The backends disagree on 1 of 1 cell: rnn (keras against torch: outputs differs by "
        "0.5, over the 0.00011 allowed, from step 3).")


def test_missing_or_misshapen_quantities_never_agree():
    ones = np.ones
    reference = CellProbe(outputs=ones((1, 2, 3)), final_state=(ones((1, 3)),),
                          input_grad=ones((1, 2, 1)), weight_grads={"W": ones((1, 3)),
                                                                     "b": ones(3)})
    other = CellProbe(outputs=ones((1, 2, 3)) + 1e-6, final_state=(ones((1, 3)), ones((1, 3))),
                      input_grad=ones((1, 3, 1)), weight_grads={"W": ones((1, 3)) * np.nan})
    differences = compare(reference, other)
    assert {d.quantity: d.ok for d in differences} == {
        "outputs": True, "final h": True, "final c": False, "d inputs": False, "d W": False,
        "d b": False}
    assert {d.quantity: d.detail for d in differences if not d.ok} == {
        "final c": "missing from the reference", "d inputs": "shape (1, 3, 1), the "
        "reference's (1, 2, 1)", "d W": "not finite", "d b": "missing from the probe"}


def test_a_sequence_over_the_tolerance_names_its_first_step():
    """Step 0 wrong points at a cell's equations, a later step at how it carries its state."""
    zeros = np.zeros((2, 6, 3))
    reference = CellProbe(outputs=zeros, final_state=(zeros[:, -1],), input_grad=zeros,
                          weight_grads={})
    carried = zeros.copy()
    carried[1, 4:, 2] = 1e-3  # within tolerance before step 4
    carried[0, 2, 0] = 1e-6
    (outputs, _, d_inputs) = compare(reference, CellProbe(
        outputs=carried, final_state=(carried[:, -1],), input_grad=zeros, weight_grads={}))
    assert (outputs.ok, outputs.detail) == (False, "from step 4")
    assert (d_inputs.ok, d_inputs.detail) == (True, "")


@pytest.mark.parametrize(("cells", "error", "message"), [
    (["gru"], UsageError, "cell 'gru' is only in backend 'keras' here"),
    (["lstn"], UnknownNameError, "unknown cell 'lstn'; did you mean 'lstm'?"),
    (["keras:lstm"], UsageError, "unqualified cell names"),
    (["lstm", " "], UsageError, "empty cell name"),
])
def test_cells_that_cannot_be_compared_are_usage_errors(skewed, cells, error, message):
    with pytest.raises(error, match=message):
        check_parity(skewed.registry, cells)


class Uninstalled:
    """A backend whose framework is missing, as keras is on a torch-only install."""

    @hookimpl
    def bench_register_backends(self, register):
        register(Backend(name="ghost", framework="Ghost", version=None, available=False,
                         build_trainer=None, list_devices=list,
                         reason="Ghost is not installed: pip install ghost."))


def test_nothing_to_compare_and_bad_sizes_exit_2(capsys, cli):
    pytest.importorskip("keras")
    cli(make_host("keras", ghost=Uninstalled()))
    assert main(["parity"]) == 2
    assert capsys.readouterr().err == (  # what would give it a second backend
        "bench: error: no cell is provided by two or more available backends that can probe "
        "cells (backends that can here: keras; ghost is unavailable: Ghost is not installed: "
        "pip install ghost)\n")
    assert main(["parity", "--length", "0"]) == 2
    assert "--length must be a positive integer" in capsys.readouterr().err


def test_sizes_no_memory_holds_are_one_line_and_exit_2(capsys, cli, both):
    """Outside a run (a run records its own failure) a MemoryError is bad input too."""
    cli(both)
    assert main(["parity", "--cells", "rnn", "--hidden", "1000000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bench: error: not enough memory for the sizes asked for (")
    assert err.rstrip().endswith("smaller --length, --hidden or --batch would fit")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
