import signal
import textwrap

import numpy as np
import pytest

from harness.errors import UsageError
from harness.execution import ExecutorOptions
from harness.executors.local import LocalExecutor
from harness.executors.process import ProcessExecutor
from harness.spec import RunSpec

TINY = dict(task="adding", task_params={"length": 5}, hidden=8, batch=8, eval_size=32,
            eval_every=5, steps=10)


def specs(*cells, seeds=(0, 1)):
    return [RunSpec(cell=cell, seed=seed, **TINY) for cell in cells for seed in seeds]


def assert_same_apart_from_timings(first, second):
    assert first.spec == second.spec and first.status == second.status
    np.testing.assert_allclose([p.loss for p in first.accuracy.curve],
                               [p.loss for p in second.accuracy.curve], rtol=1e-4)
    assert first.stability.grad_norm_max == pytest.approx(second.stability.grad_norm_max,
                                                          rel=1e-4)
    assert first.speed.kernel_path == second.speed.kernel_path


@pytest.fixture
def entry_point_plugins(monkeypatch):
    """Spawned workers find plugins by entry points, as an installed bench would."""
    monkeypatch.setenv("BENCH_PLUGINS", "tasks,torch,crasher")


def test_process_pool_gives_the_local_records(host, entry_point_plugins):
    todo = specs("torch:rnn", "torch:lstm")
    local = {r.run_id: r for r in LocalExecutor(ExecutorOptions()).run(todo)}
    executor = ProcessExecutor(ExecutorOptions(workers=2))
    progress: dict[str, list[tuple[int, float]]] = {}
    try:
        pooled = {r.run_id: r for r in executor.run(
            todo, on_step=lambda spec, step, loss: progress.setdefault(spec.run_id, []).append(
                (step, loss)))}
    finally:
        executor.close()
    assert set(pooled) == set(local)
    for run_id, record in pooled.items():
        assert_same_apart_from_timings(record, local[run_id])
        # the workers report each run's steps as it trains (throttled; the first always)
        steps = [step for step, _ in progress[run_id]]
        assert steps[:2] == [0, 1] and steps == sorted(steps) and steps[-1] <= TINY["steps"]
        assert all(np.isfinite(loss) == (step > 0) for step, loss in progress[run_id])


@pytest.fixture
def crashing_cell(tmp_path, monkeypatch, entry_point_plugins):
    """A plugin distribution whose cells kill the interpreter they run in (crash) or block
    forever (hang)."""
    (tmp_path / "bench_crasher.py").write_text(textwrap.dedent("""
        import os, signal, time
        from harness import hookimpl
        from harness.canonical import init_lstm
        from harness.registry import Cell

        def crash(input_size, hidden, options):
            os.kill(os.getpid(), signal.SIGSEGV)

        def hang(input_size, hidden, options):
            time.sleep(3600)

        @hookimpl
        def bench_register_cells(register):
            register(Cell("crash", "torch", factory=crash, initializer=init_lstm))
            register(Cell("hang", "torch", factory=hang, initializer=init_lstm))
    """))
    info = tmp_path / "bench_crasher-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-crasher\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[bench]\ncrasher = bench_crasher\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_run_that_kills_its_worker_is_failed_and_the_rest_complete(crashing_cell):
    executor = ProcessExecutor(ExecutorOptions(workers=2))
    try:
        records = list(executor.run(specs("torch:crash", "torch:rnn", seeds=(0, 1, 2))))
    finally:
        executor.close()
    by_cell = {}
    for record in records:
        by_cell.setdefault(record.spec.cell, []).append(record)
    assert len(records) == 6
    assert [r.status for r in by_cell["torch:rnn"]] == ["ok"] * 3
    for record in by_cell["torch:crash"]:
        assert record.status == "failed"
        assert record.error == (f"worker process killed by signal {signal.SIGSEGV.name} "
                                "during the run")


def test_a_hung_worker_is_killed_at_the_time_limit_and_replaced(crashing_cell):
    # A limit long enough for a worker to start and import torch on a busy machine.
    executor = ProcessExecutor(ExecutorOptions(workers=1, timeout=20))
    try:
        records = list(executor.run(specs("torch:hang", "torch:rnn", seeds=(0,))))
    finally:
        executor.close()
    hung, ran = records
    assert hung.spec.cell == "torch:hang" and hung.status == "failed"
    assert hung.error == "RunTimeout: the run took longer than --timeout 20 s and was stopped"
    assert ran.spec.cell == "torch:rnn" and ran.status == "ok"  # on the replacement worker


def test_bad_worker_counts_are_usage_errors():
    with pytest.raises(UsageError, match="--workers must be at least 1, got 0"):
        ProcessExecutor(ExecutorOptions(workers=0))
    with pytest.raises(UsageError, match="use --executor process"):
        LocalExecutor(ExecutorOptions(workers=4))


def test_run_command_through_the_process_executor(bench, tmp_path):
    result = bench("run", "--task", "adding", "--cells", "rnn", "--length", "4", "--steps", "4",
                   "--seeds", "0,1,2", "--hidden", "4", "--batch", "4", "--eval-size", "8",
                   "--executor", "process", "--workers", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("*.json"))) == 3


def test_unknown_executor_is_one_line(bench, tmp_path):
    result = bench("run", "--task", "adding", "--cells", "rnn", "--executor", "slurm",
                   "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.startswith("bench: error: unknown executor 'slurm' (available: ")
    assert "local" in message and "process" in message and "\n" not in message
    assert not (tmp_path / "out").exists()
