"""The Keras example plugin ``keras:leakyln``: its numpy reference is the LN-RNN's when
nothing leaks. (The whole kit runs on it in tests/examples/test_install.py, from the
installed package.)"""

from __future__ import annotations

import numpy as np
from bench_leaky_ln.layout import init_leaky_ln
from bench_leaky_ln.reference import leaky_ln

from harness.reference import lnrnn


def test_the_reference_is_the_lnrnn_when_nothing_leaks():
    rng = np.random.default_rng(0)
    weights = init_leaky_ln(3, 4, rng)
    x = rng.normal(size=(2, 6, 3))
    ln_weights = {name: value for name, value in weights.items() if name != "leak"}

    assert weights["leak"].shape == (4,) and not weights["leak"].any()
    weights["leak"] = np.full(4, -50.0)
    np.testing.assert_allclose(leaky_ln(x, weights)[0], lnrnn(x, ln_weights)[0], atol=1e-12)
    weights["leak"] = rng.uniform(-1, 1, 4)
    assert not np.allclose(leaky_ln(x, weights)[0], lnrnn(x, ln_weights)[0])
