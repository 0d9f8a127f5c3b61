import math
import mmap
import os
import pickle
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from harness import runner
from harness.errors import UnknownNameError, UsageError
from harness.records import Accuracy, EvalPoint
from harness.runner import confirm_solved, eval_stream, execute, plan, train_stream
from harness.spec import RunSpec
from tests.toyplugins import EchoTask

TINY = dict(hidden=16, batch=16, eval_size=64, eval_every=10, steps=20, warmup_steps=2)


def test_a_run_measures_accuracy_speed_and_stability(registry):
    spec = RunSpec(task="adding", cell="torch:lstm", task_params={"length": 10},
                   kernel="framework", **TINY)
    record = execute(spec, registry)
    assert record.status == "ok" and record.error is None
    acc, speed, stab = record.accuracy, record.speed, record.stability
    assert [p.step for p in acc.curve] == [0, 10, 20]
    assert acc.baseline_loss == pytest.approx(1 / 6)
    assert acc.curve[0].loss > 2 * acc.baseline_loss  # untrained: worse than memoryless
    assert acc.curve[-1].loss < acc.curve[0].loss
    assert acc.loss_ratio == pytest.approx(acc.final_loss / acc.baseline_loss)
    assert speed.kernel_path == "fused:nn.LSTM" and speed.device == "cpu"
    assert speed.timed_steps == 18 and len(speed.step_ms) == 18
    assert speed.step_ms_p10 <= speed.step_ms_median <= speed.step_ms_p90
    assert 0 < speed.reference_us < speed.step_ms_median * 1000  # a small fraction of a step
    assert speed.tokens_per_second == pytest.approx(16 * 10 / (speed.step_ms_median / 1000))
    assert speed.parameter_count == 4 * (2 * 16 + 16 * 16 + 16) + 16 + 1 + 16 * 0
    assert stab.grad_norm_median <= stab.grad_norm_p99 <= stab.grad_norm_max
    assert 0.0 <= stab.clipped_fraction <= 1.0 and stab.nonfinite_events == 0
    env = record.environment
    assert env["framework_version"].startswith("2.") and env["device"] == "cpu"
    assert env["cpu_count"] >= 1 and "python" in env and "git_commit" in env


def test_progress_hears_of_a_run_before_its_model_is_built(registry, monkeypatch):
    """So that the run's wall time on the progress line counts building and compiling it."""
    heard: list[tuple[int, float]] = []
    build = runner.plan

    def building(*args, **kwargs):
        heard.append((-1, math.nan))  # the model is built after this
        return build(*args, **kwargs)

    monkeypatch.setattr(runner, "plan", building)
    spec = RunSpec(task="adding", cell="torch:rnn", task_params={"length": 4}, **TINY)
    execute(spec, registry, progress=lambda step, loss: heard.append((step, loss)))
    assert [step for step, _ in heard[:3]] == [0, -1, 1]
    assert math.isnan(heard[0][1]) and all(math.isfinite(loss) for _, loss in heard[2:])


def test_a_run_counts_the_page_faults_of_its_steps(registry, monkeypatch):
    """A step that first touches PAGES fresh pages (an anonymous map, handed back to the
    system after each step) counts at least that many; the plain tiny step, hardly any."""
    pages = 2000
    spec = RunSpec(task="adding", cell="torch:rnn", task_params={"length": 5}, **TINY)
    plain = execute(spec, registry).speed.page_faults_per_step
    build = runner.build_trainer

    def touching(run):
        trainer = build(run)
        train_step = trainer.train_step

        def step(inputs, targets):
            with mmap.mmap(-1, pages * mmap.PAGESIZE) as fresh:
                for offset in range(0, len(fresh), mmap.PAGESIZE):
                    fresh[offset] = 1
            return train_step(inputs, targets)

        trainer.train_step = step
        return trainer

    monkeypatch.setattr(runner, "build_trainer", touching)
    touched = execute(spec, registry).speed.page_faults_per_step
    assert plain < pages / 10 and touched >= pages


def test_a_run_is_a_pure_function_of_its_spec(registry):
    spec = RunSpec(task="copy", cell="torch:gru", task_params={"length": 5},
                   options={"dropout": 0.1}, **TINY)
    first, again = execute(spec, registry), execute(pickle.loads(pickle.dumps(spec)), registry)
    assert [p.loss for p in first.accuracy.curve] == [p.loss for p in again.accuracy.curve]
    other = execute(RunSpec(**{**spec.to_dict(), "seed": 1}), registry)
    assert other.accuracy.curve[-1].loss != first.accuracy.curve[-1].loss
    assert pickle.loads(pickle.dumps(first)) == first


def test_train_and_evaluation_streams_differ():
    assert not np.array_equal(train_stream(0).random(8), eval_stream().random(8))
    assert np.array_equal(eval_stream().random(8), eval_stream().random(8))


def test_solved_run_stops_early(toy_host):
    spec = RunSpec(task="echo", cell="torch:rnn", lr=0.05, **{**TINY, "steps": 400})
    record = execute(spec, toy_host.registry)
    assert record.accuracy.solved and record.accuracy.headline >= 0.99
    # solved at the first of two passing evaluations; the second confirms it and stops the run
    assert record.steps_done == record.accuracy.steps_to_solve + spec.eval_every < 400
    assert record.accuracy.seconds_to_solve > 0
    memory = record.accuracy.memory
    assert memory.remembers and memory.p_value < 1e-6 and memory.examples == spec.eval_size
    assert memory.margin == pytest.approx(record.accuracy.headline - 0.25)


def test_a_run_stays_solved_at_its_first_confirmed_step():
    accuracy = Accuracy(baseline_loss=1.0, headline_name="accuracy", chance=0.25,
                        solved_criterion="accuracy >= 0.99")
    confirm_solved(accuracy, EvalPoint(step=10, seconds=1.0, loss=0.01, loss_ratio=0.01,
                                       headline=1.0))
    confirm_solved(accuracy, EvalPoint(20, 2.0, 0.01, 0.01, 1.0))
    assert accuracy.solved and accuracy.steps_to_solve == 10 and accuracy.seconds_to_solve == 1.0


def test_a_dip_under_the_criterion_then_back_is_not_solved(toy_host, monkeypatch):
    """Evaluations pass, fail, pass: no two consecutive ones pass, so the run is unsolved."""
    verdicts = iter([False, True, False, True])
    monkeypatch.setattr(EchoTask, "is_solved", lambda self, loss, headline: next(verdicts))
    spec = RunSpec(task="echo", cell="torch:rnn", **{**TINY, "steps": 30, "eval_every": 10})
    record = execute(spec, toy_host.registry)
    assert [p.step for p in record.accuracy.curve] == [0, 10, 20, 30]
    assert not record.accuracy.solved and record.accuracy.steps_to_solve is None


def test_non_finite_run_ends_as_diverged(toy_host):
    spec = RunSpec(task="exploding", cell="torch:lstm", **{**TINY, "steps": 50, "eval_every": 40})
    record = execute(spec, toy_host.registry)
    assert record.status == "diverged"
    # updates are skipped, not applied, until more than MAX_NONFINITE_EVENTS
    assert record.stability.nonfinite_events == 11 and record.steps_done == 11
    assert math.isnan(record.accuracy.curve[0].loss)


def test_an_exception_inside_a_run_is_recorded_as_failed(toy_host):
    record = execute(RunSpec(task="echo", cell="torch:broken", **TINY), toy_host.registry)
    assert record.status == "failed"
    assert record.error.startswith("RuntimeError: this cell cannot be built")


@pytest.mark.parametrize("changes, error, message", [
    ({"task": "cpy"}, UnknownNameError, "unknown task 'cpy'; did you mean 'copy'?"),
    ({"cell": "torch:lstn"}, UnknownNameError,
     "unknown cell 'torch:lstn'; did you mean 'torch:lstm'?"),
    ({"cell": "tf:lstm"}, UnknownNameError, "unknown backend 'tf'"),
    ({"task_params": {"length": 0}}, UsageError, "task parameter 'length' must be >= 1, got 0"),
    ({"task_params": {"delay": 3}}, UnknownNameError, "unknown parameter 'delay' of task 'copy'"),
    ({"options": {"zoneout": 0.1}}, UsageError,
     "does not accept option --zoneout (accepted: --dropout, --recurrent-dropout)"),
])
def test_bad_specs_fail_before_any_work(registry, changes, error, message):
    spec = RunSpec(**{**RunSpec(task="copy", cell="torch:lstm").to_dict(), **changes})
    with pytest.raises(error, match=re.escape(message)):
        plan(spec, registry)


def test_a_kernel_another_backends_cell_has_names_that_backend():
    """`--cells lstm --kernel compiled` with Keras installed: the Keras cell lacks it."""
    pytest.importorskip("keras")
    from tests.helpers import make_host

    spec = RunSpec(task="copy", cell="keras:lstm", kernel="compiled")
    with pytest.raises(UsageError, match=re.escape(
            "cell 'keras:lstm' has no kernel 'compiled' (valid: auto, framework); --backend "
            "torch keeps the cells that have it")):
        plan(spec, make_host("tasks", "torch", "keras").registry)


def test_gradient_profile_shows_how_far_back_the_gradient_reaches(registry):
    spec = RunSpec(task="adding", cell="torch:rnn", task_params={"length": 30}, **TINY)
    profile = execute(spec, registry).stability.gradient_profile
    assert len(profile.initial) == len(profile.final) == 30
    # adding reads out at the last step, so the gradient is largest at lag 0, and a tanh
    # RNN's gradient decays with lag
    initial = np.array(profile.initial)
    assert initial.argmax() < 3 and initial[-1] < initial.max()
    assert profile.reach_initial == max(np.flatnonzero(initial >= 0.01 * initial.max()))


def test_validating_a_cpu_run_imports_no_framework(tmp_path):
    """The controlling process of a worker pool must not pay the framework import."""
    script = textwrap.dedent("""
        import sys
        from harness.plugins import default_host
        from harness.runner import validate
        from harness.spec import RunSpec
        registry = default_host().registry
        for device in ("auto", "cpu"):
            validate(RunSpec(task="copy", cell="torch:lstm", device=device), registry)
        print(sorted(m for m in ("torch", "tensorflow", "keras") if m in sys.modules))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "BENCH_PLUGINS": "tasks,torch"}, check=True)
    assert result.stdout.strip() == "[]"


# What the runner promises and a mutation of it would break (issue #14): the held-out set,
# the final evaluation, early stopping.


def test_the_held_out_set_is_fixed_and_apart_from_the_training_stream(toy_host):
    from tests.toyplugins import RecordingTask

    drawn = {}
    for seed in (0, 1):
        RecordingTask.drawn.clear()
        execute(RunSpec(task="recording", cell="torch:rnn", seed=seed, **TINY),
                toy_host.registry)
        drawn[seed] = RecordingTask.drawn[:]
    held_out = {seed: [x for split, x in batches if split == "eval"]
                for seed, batches in drawn.items()}
    (eval_0,), (eval_1,) = held_out[0], held_out[1]
    np.testing.assert_array_equal(eval_0, eval_1)  # one set for every run of the task
    first_training = next(x for split, x in drawn[0] if split == "train")
    assert not np.array_equal(eval_0[:len(first_training)], first_training)
    assert len(eval_0) == TINY["eval_size"]


def test_the_last_step_is_evaluated_even_off_the_interval(registry):
    spec = RunSpec(task="adding", cell="torch:rnn", task_params={"length": 5},
                   **{**TINY, "steps": 13, "eval_every": 5})
    record = execute(spec, registry)
    assert [p.step for p in record.accuracy.curve] == [0, 5, 10, 13]
    assert record.accuracy.final_loss == record.accuracy.curve[-1].loss
    assert record.steps_done == 13


def test_no_early_stop_trains_on_after_the_task_is_solved(toy_host, tmp_path):
    import json

    from harness.cli import main

    run = ["run", "--task", "echo", "--cells", "torch:rnn", "--length", "5", "--lr", "0.05",
           "--steps", "120",
           "--hidden", "16", "--batch", "16", "--eval-size", "64", "--eval-every", "10"]
    assert main([*run, "--out", str(tmp_path / "stops")]) == 0
    assert main([*run, "--no-early-stop", "--out", str(tmp_path / "goes-on")]) == 0
    (stops,) = [json.loads(p.read_text()) for p in (tmp_path / "stops").glob("*.json")]
    (goes_on,) = [json.loads(p.read_text()) for p in (tmp_path / "goes-on").glob("*.json")]
    assert stops["accuracy"]["solved"] and stops["steps_done"] < 120
    assert goes_on["spec"]["stop_when_solved"] is False
    assert goes_on["accuracy"]["solved"] and goes_on["steps_done"] == 120
    assert goes_on["accuracy"]["curve"][-1]["step"] == 120


@pytest.mark.parametrize("option, value", [("--length", "1000000000"), ("--batch", "10000000"),
                                           ("--eval-size", "2000000000")])
def test_a_run_that_cannot_fit_in_memory_is_refused_before_any_work(
        host, tmp_path, capsys, monkeypatch, option, value):
    """Against a fixed 16 GiB available, whatever the machine has: one line, exit 2, no
    files."""
    from harness.cli import main

    monkeypatch.setattr("harness.footprint.available_bytes", lambda: 16 * 2**30)
    sizes = {"--length": "10", "--batch": "64", "--eval-size": "256", option: value}
    out = tmp_path / "out"
    code = main(["run", "--task", "adding", "--cells", "torch:rnn", "--steps", "1",
                 *(item for pair in sizes.items() for item in pair), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and not out.exists()
    assert re.search(rf"needs at least [\d,.]+ GiB of memory .*\b{value}\b.*\), more "
                     r"than the 16\.0 GiB available; use a smaller --hidden, --batch", err)

