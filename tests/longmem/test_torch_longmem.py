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
from harness.canonical import probe_weights  # noqa: E402
from harness.conformance import conformance_tests, run_checks  # noqa: E402
from harness.registry import Cell  # noqa: E402
from tests.helpers import make_host  # noqa: E402
from tests.longmem.tiny_runs import loss_ratio_after_tiny_run  # noqa: E402

TORCH_CELLS = ("indrnn", "exprnn", "mingru", "minlstm", "lru")


def longmem_host():
    return make_host("tasks", "torch", longmem_torch=bench_longmem.plugin.torch_cells)


test_longmem_conformance = conformance_tests(*(f"torch:{name}" for name in TORCH_CELLS),
                                             host=longmem_host())


@pytest.mark.parametrize(("name", "task", "steps"), [
    ("indrnn", "adding", 60), ("exprnn", "adding", 60), ("mingru", "adding", 60),
    ("minlstm", "adding", 60),
    # The LRU is linear in its inputs (docs/cells.md): it cannot multiply a value by its
    # marker, so it shows its memory on copy.
    ("lru", "copy", 150),
])
def test_each_cell_learns_below_the_baseline_at_a_tiny_size(name, task, steps):
    assert loss_ratio_after_tiny_run(longmem_host().registry, f"torch:{name}", task, steps) < 0.9


@pytest.mark.parametrize("name", ("mingru", "minlstm", "lru"))
def test_the_parallel_scan_equals_the_step_loop_over_a_long_sequence(name):
    """The kit compares both paths with the reference at length 5; here at 300 steps, with
    weights moved off their initial values, outputs and gradients."""
    cell = longmem_host().registry.cells[("torch", name)]
    weights = probe_weights(cell.initializer, 3, 8, np.random.default_rng(0))
    x = torch.tensor(np.random.default_rng(1).normal(size=(4, 300, 3)), dtype=torch.float32)
    results = []
    for kernel in ("framework", "bench"):
        module = cell.factory(3, 8, {})
        module.use_kernel(kernel, "cpu")
        module.load_canonical(weights)
        outputs, _ = module(x)
        outputs.square().sum().backward()
        results.append((module.kernel_path, outputs.detach(),
                        [p.grad for p in module.parameters()]))

    (loop_path, loop_out, loop_grads), (scan_path, scan_out, scan_grads) = results
    assert (loop_path, scan_path) == ("loop", "scan")
    torch.testing.assert_close(scan_out, loop_out, rtol=1e-4, atol=1e-5)
    for scan_grad, loop_grad in zip(scan_grads, loop_grads, strict=True):
        torch.testing.assert_close(scan_grad, loop_grad, rtol=1e-4, atol=1e-4)


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
