"""The CUDA-graph path of step-loop cells: the captured step against the eager one.

On the CPU the step the graph captures (``sync_free_step``) runs eagerly and must train
exactly as the eager step does, and a graph that cannot be set up falls back to eager.
The capture and replay themselves need CUDA; those tests skip without it.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench_torch.cells import LNRNN  # noqa: E402
from bench_torch.graph import WARMUP_STEPS, GuardedUpdate, sync_free_step  # noqa: E402
from bench_torch.trainer import TorchTrainer, build_trainer  # noqa: E402
from harness.runner import execute  # noqa: E402
from harness.spec import RunSpec  # noqa: E402
from harness.trainer import OPTIMIZERS, TrainerConfig  # noqa: E402
from tests.helpers import make_host  # noqa: E402
from tests.plugins.torch.configs import make_config, recall_first  # noqa: E402

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

LOOP_CELLS = [
    ("lnrnn", {}),
    ("lnrnn", {"dropout": 0.2, "recurrent_dropout": 0.3}),
    ("lstm", {"recurrent_dropout": 0.3}),
    ("gru", {"recurrent_dropout": 0.3}),
]
LOOP_IDS = ["lnrnn", "lnrnn-dropout", "lstm-recurrent-dropout", "gru-recurrent-dropout"]


def trainer_on(config: TrainerConfig, graph: bool) -> TorchTrainer:
    """A trainer for ``config`` that takes (or does not take) the graph path, whatever the
    device; its optimiser is capturable when the device is CUDA."""
    built = build_trainer(config)
    return TorchTrainer(built.model, built.optimizer, config.loss, config.clip_norm,
                        torch.device(config.device), graph=graph)


def tensors(trainer: TorchTrainer, batch) -> tuple:
    return (trainer._tensor(batch[0], torch.float32),
            trainer._tensor(batch[1], trainer._target_dtype))


def optimizer_state(trainer: TorchTrainer) -> list:
    return [t.detach().clone() for s in trainer.optimizer.state.values() for t in s.values()]


def assert_same_training_state(got: TorchTrainer, expected: TorchTrainer, atol: float) -> None:
    for p, q in zip(got.parameters, expected.parameters, strict=True):
        torch.testing.assert_close(p, q, atol=atol, rtol=atol)
    for s, t in zip(optimizer_state(got), optimizer_state(expected), strict=True):
        torch.testing.assert_close(s, t, atol=atol, rtol=atol)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(("cell", "options"), LOOP_CELLS, ids=LOOP_IDS)
def test_captured_step_trains_as_the_eager_step(cell, options, optimizer):
    config = make_config(cell, options=options, optimizer=optimizer, kernel="framework")
    eager, captured = build_trainer(config), build_trainer(config)
    assert captured.kernel_path == "loop"
    batches = [recall_first(np.random.default_rng(seed), batch=16) for seed in range(3)]
    torch.manual_seed(1)
    eager.eager_step(*tensors(eager, batches[0]))
    torch.manual_seed(1)
    captured.eager_step(*tensors(captured, batches[0]))  # the warm-up creates the state
    update = GuardedUpdate(captured.optimizer, captured.parameters)

    for seed, batch in enumerate(batches[1:], 2):  # the same dropout masks for both
        torch.manual_seed(seed)
        expected = eager.eager_step(*tensors(eager, batch))
        torch.manual_seed(seed)
        stats = sync_free_step(captured.forward_backward, update, *tensors(captured, batch))

        assert expected.applied
        assert stats.tolist() == pytest.approx([expected.loss, expected.grad_norm], rel=1e-6)
        for p, q in zip(captured.parameters, eager.parameters, strict=True):
            torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-6)
        assert_same_training_state(captured, eager, atol=1e-6)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_captured_step_leaves_everything_alone_when_not_finite(optimizer):
    trainer = build_trainer(make_config("lnrnn", optimizer=optimizer, kernel="framework"))
    x, y = recall_first(np.random.default_rng(5), batch=16)
    trainer.eager_step(*tensors(trainer, (x, y)))
    update = GuardedUpdate(trainer.optimizer, trainer.parameters)
    parameters = [p.detach().clone() for p in trainer.parameters]
    state = optimizer_state(trainer)

    stats = sync_free_step(trainer.forward_backward, update,
                           *tensors(trainer, (np.full_like(x, np.inf), y)))

    assert not all(math.isfinite(v) for v in stats.tolist())
    for p, before in zip(trainer.parameters, parameters, strict=True):
        torch.testing.assert_close(p.detach(), before, atol=0, rtol=0)
    for s, before in zip(optimizer_state(trainer), state, strict=True):
        torch.testing.assert_close(s, before, atol=0, rtol=0)
    sync_free_step(trainer.forward_backward, update, *tensors(trainer, (x, y)))
    assert not torch.equal(trainer.parameters[0].detach(), parameters[0])


def test_a_graph_that_cannot_be_set_up_falls_back_to_eager_and_says_why():
    config = make_config("lnrnn", options={"recurrent_dropout": 0.3}, kernel="framework")
    fallback, eager = trainer_on(config, graph=True), trainer_on(config, graph=False)
    rngs = (np.random.default_rng(seed) for seed in range(WARMUP_STEPS + 2))
    batches = [recall_first(rng, batch=16) for rng in rngs]

    torch.manual_seed(0)
    got = [fallback.train_step(*batch) for batch in batches]
    torch.manual_seed(0)
    expected = [eager.train_step(*batch) for batch in batches]

    assert re.fullmatch(r"loop \(eager fallback: \w+: .+\)", fallback.kernel_path)
    assert eager.kernel_path == "loop"
    assert got == expected
    assert_same_training_state(fallback, eager, atol=0)


@pytest.mark.parametrize(("device", "kernel", "path"), [
    ("cpu", "auto", "bench-compiled"),  # measured fastest on the CPU (README)
    ("cpu", "framework", "loop"),
    ("cpu", "bench", "bench-fused"),
    ("cpu", "compiled", "bench-compiled"),
    pytest.param("cuda", "auto", "loop+cuda-graph", marks=needs_cuda),
])
def test_records_name_the_path_that_ran(device, kernel, path):
    spec = RunSpec(task="adding", cell="torch:lnrnn", task_params={"length": 4}, hidden=8,
                   batch=8, steps=8, eval_every=4, eval_size=16, device=device, kernel=kernel)
    record = execute(spec, make_host("torch", "tasks").registry)
    assert record.status == "ok", record.error
    assert record.speed.kernel_path == path


# --- CUDA: capture and replay -------------------------------------------------------------

@needs_cuda
@pytest.mark.parametrize(("cell", "options"), LOOP_CELLS, ids=LOOP_IDS)
def test_cuda_graph_replay_trains_as_the_eager_step(cell, options):
    config = make_config(cell, options=options, device="cuda")
    graphed, eager = trainer_on(config, graph=True), trainer_on(config, graph=False)
    for trainer in (graphed, eager):
        trainer.model.eval()  # no dropout, so that both draw the same (no) masks
    batches = [recall_first(np.random.default_rng(seed)) for seed in range(WARMUP_STEPS + 4)]

    for batch in batches:
        got, expected = graphed.train_step(*batch), eager.train_step(*batch)
        assert got.applied and expected.applied
        assert got.loss == pytest.approx(expected.loss, rel=1e-5)
        assert got.grad_norm == pytest.approx(expected.grad_norm, rel=1e-5)

    assert graphed.kernel_path == "loop+cuda-graph"
    assert_same_training_state(graphed, eager, atol=1e-5)


@needs_cuda
def test_cuda_graph_draws_fresh_dropout_masks_each_replay_and_follows_the_seed():
    config = make_config("lnrnn", options={"recurrent_dropout": 0.5}, optimizer="sgd",
                         lr=0.0, device="cuda")  # weights never move: only masks change
    batch = recall_first(np.random.default_rng(0))
    runs = []
    for _ in range(2):
        trainer = build_trainer(config)
        runs.append([trainer.train_step(*batch).loss for _ in range(WARMUP_STEPS + 3)])

    assert trainer.kernel_path == "loop+cuda-graph"
    assert runs[0] == runs[1]
    replayed = runs[0][WARMUP_STEPS:]
    assert len(set(replayed)) == len(replayed)


@needs_cuda
def test_cuda_graph_skips_a_non_finite_update():
    trainer = build_trainer(make_config("lnrnn", device="cuda"))
    x, y = recall_first(np.random.default_rng(5))
    for _ in range(WARMUP_STEPS + 1):
        trainer.train_step(x, y)
    before = trainer.export_weights()

    result = trainer.train_step(np.full_like(x, np.inf), y)

    assert trainer.kernel_path == "loop+cuda-graph"
    assert not result.applied and not math.isfinite(result.loss)
    for key, value in trainer.export_weights().items():
        np.testing.assert_array_equal(value, before[key])
    assert trainer.train_step(x, y).applied
    assert not np.array_equal(trainer.export_weights()["U"], before["U"])


class HostSyncing(LNRNN):
    """An LN-RNN that reads a value back to the host mid-step, which capture forbids."""

    def _loop(self, x, state_mask):
        outputs, h = super()._loop(x, state_mask)
        self.peak = outputs.abs().max().item()  # as a cell that logs might
        return outputs, h


@needs_cuda
def test_cuda_capture_failure_falls_back_to_eager_and_keeps_training():
    config = dataclasses.replace(make_config("lnrnn", device="cuda"), cell_factory=HostSyncing)
    trainer = build_trainer(config)
    rng = np.random.default_rng(0)

    results = [trainer.train_step(*recall_first(rng)) for _ in range(WARMUP_STEPS + 3)]

    assert re.fullmatch(r"loop \(eager fallback: \w+: .+\)", trainer.kernel_path)
    assert all(r.applied for r in results)
