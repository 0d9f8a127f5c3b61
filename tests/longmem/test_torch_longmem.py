"""The long-memory cells of ``bench_longmem`` in the PyTorch backend: the conformance kit
(reference equations, forward and gradients, on every kernel path), learning at a tiny size,
and a planted bug the kit catches."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import bench_longmem.plugin  # noqa: E402
from bench_longmem import torch_cells  # noqa: E402
from bench_longmem.layout import init_exprnn  # noqa: E402
from harness import hookimpl, longmem_reference  # noqa: E402
from harness.conformance import conformance_tests, run_checks  # noqa: E402
from harness.registry import Cell  # noqa: E402
from harness.runner import execute  # noqa: E402
from harness.spec import RunSpec  # noqa: E402
from tests.helpers import make_host  # noqa: E402

TORCH_CELLS = ("indrnn", "exprnn")


def longmem_host():
    return make_host("tasks", "torch", longmem=bench_longmem.plugin)


test_longmem_conformance = conformance_tests(*(f"torch:{name}" for name in TORCH_CELLS),
                                             host=longmem_host())


@pytest.mark.parametrize("name", TORCH_CELLS)
def test_each_cell_learns_adding_below_the_baseline_at_a_tiny_size(name):
    spec = RunSpec(task="adding", cell=f"torch:{name}", task_params={"length": 10}, hidden=16,
                   batch=16, steps=60, eval_every=60, eval_size=64, warmup_steps=1,
                   device="cpu", stop_when_solved=False)

    record = execute(spec, longmem_host().registry)

    assert record.status == "ok"
    assert record.accuracy.loss_ratio < 0.9


def test_the_exprnn_recurrent_matrix_stays_orthogonal_whatever_the_skew_parameters():
    weights = init_exprnn(3, 6, np.random.default_rng(0))
    weights["skew"] = np.random.default_rng(1).normal(size=weights["skew"].shape)
    skew = torch.tensor(weights["skew"], dtype=torch.float64)

    recurrent = torch.linalg.matrix_exp(torch_cells.skew_symmetric(skew, 6))

    torch.testing.assert_close(recurrent @ recurrent.T, torch.eye(6, dtype=torch.float64))
    np.testing.assert_allclose(torch_cells.skew_symmetric(skew, 6).numpy(),
                               longmem_reference.skew_symmetric(weights["skew"], 6))


class SignFlippedIndRNN(torch_cells.IndRNN):
    """A planted bug: the recurrence subtracts the previous state."""

    def _loop(self, x, state_mask):
        h = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for xw in torch.unbind(x @ self.W + self.b, 1):
            h = torch.relu(xw - self.u * h)
            outputs.append(h)
        return torch.stack(outputs, 1), h


def build_sign_flipped(input_size, hidden, options):
    return SignFlippedIndRNN(input_size, hidden, options)


class PlantedPlugin:
    @hookimpl
    def bench_register_cells(self, register):
        register(Cell(name="indrnn", backend="torch", factory=build_sign_flipped,
                      initializer=bench_longmem.plugin.layout.init_indrnn,
                      reference=longmem_reference.indrnn))


def test_the_kit_catches_a_wrong_sign_in_the_recurrence():
    host = make_host("tasks", "torch", planted=PlantedPlugin())

    results = {r.check: r for r in run_checks(host.registry, cells=["torch:indrnn"])}

    assert results["reference"].failed
    assert "harness.longmem_reference.indrnn" in results["reference"].message
    assert results["construct"].outcome == "passed"
