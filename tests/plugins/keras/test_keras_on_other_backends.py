"""The Keras backend with ``KERAS_BACKEND=torch`` and ``jax``: the cells and their gradients
agree with the torch backend's (``bench parity``), and training works, without TensorFlow.

Keras fixes its backend at import, so each runs in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("keras")
pytest.importorskip("torch")  # the parity reference

SCRIPT = textwrap.dedent("""
    import dataclasses
    import math
    import sys
    sys.modules["tensorflow"] = None  # as if not installed: Keras here must not need it
    import keras
    import numpy as np
    from harness.canonical import init_readout
    from harness.parity import check_parity
    from harness.trainer import TrainerConfig
    from tests.helpers import make_host
    from tests.toyplugins import EchoTask

    backend = sys.argv[1]
    assert keras.backend.backend() == backend
    registry = make_host("torch", "keras").registry
    assert f"({backend} " in registry.backends["keras"].version
    results = check_parity(registry, None, length=6, batch=2, hidden=4)
    assert len(results) == 4 and all(r.reference == "torch" for r in results)
    assert all(r.ok for r in results), [r.to_dict() for r in results if not r.ok]

    rng = np.random.default_rng(0)
    cell = registry.cells[("keras", "lnrnn")]
    config = TrainerConfig(
        cell_name="lnrnn", cell_factory=cell.factory, input_size=4, output_size=4, hidden=6,
        readout="every_step", loss="xent", options={"dropout": 0.2}, optimizer="adam",
        lr=0.05, clip_norm=1.0, device="cpu", precision="float32", seed=0,
        cell_weights=cell.initializer(4, 6, rng), readout_weights=init_readout(6, 4, rng))
    trainer = registry.backends["keras"].build_trainer(config)
    batch = EchoTask(length=3).sample(rng, 8)
    before, _ = trainer.evaluate(batch.inputs, batch.targets)
    steps = [trainer.train_step(batch.inputs, batch.targets) for _ in range(5)]
    assert all(s.applied and math.isfinite(s.grad_norm) for s in steps)
    # weights that never move see a new dropout mask every step
    frozen = registry.backends["keras"].build_trainer(dataclasses.replace(config, lr=0.0))
    assert len({frozen.train_step(batch.inputs, batch.targets).loss for _ in range(3)}) == 3
    assert trainer.evaluate(batch.inputs, batch.targets)[0] < before
    poisoned = np.full_like(batch.inputs, np.inf)
    trained = trainer.export_weights()
    assert not trainer.train_step(poisoned, batch.targets).applied
    after = trainer.export_weights()  # a skipped update leaves every weight as it was
    assert all(np.array_equal(trained[name], after[name]) for name in trained)
    print("ok")
""")


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_cells_parity_and_training_on_another_keras_backend(backend):
    pytest.importorskip(backend)
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, backend], capture_output=True,
                          text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
