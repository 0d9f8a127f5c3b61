"""The example plugin ``torch:peephole``, registered in-process: it passes the kit, and its
numpy reference is the LSTM's when the peepholes are zero."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import bench_peephole.plugin  # noqa: E402
from bench_peephole.layout import init_peephole  # noqa: E402
from bench_peephole.reference import peephole  # noqa: E402

from harness.conformance import conformance_tests  # noqa: E402
from harness.reference import lstm  # noqa: E402
from tests.helpers import make_host  # noqa: E402


def peephole_host():
    host = make_host("tasks", "torch")
    host.register(bench_peephole.plugin, "peephole")
    return host


test_peephole_conformance = conformance_tests("torch:peephole", host=peephole_host())


def test_the_reference_is_the_lstm_until_the_peepholes_open():
    rng = np.random.default_rng(0)
    weights = init_peephole(3, 4, rng)
    x = rng.normal(size=(2, 6, 3))
    lstm_weights = {name: weights[name] for name in ("W", "U", "b")}

    assert weights["p"].shape == (12,) and not weights["p"].any()
    assert weights["b"][4:8].tolist() == [1.0] * 4  # forget bias
    np.testing.assert_allclose(peephole(x, weights)[0], lstm(x, lstm_weights)[0])
    weights["p"] = rng.uniform(-1, 1, 12)
    assert not np.allclose(peephole(x, weights)[0], lstm(x, lstm_weights)[0])

