"""bench_keras.quiet_import: Keras's first import leaves TensorFlow's start-up notices out of
stderr and writes back everything else it printed, in order, also when it fails."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("keras")

from bench_keras.quiet_import import drop_startup_notices, startup_notices_dropped  # noqa: E402

NOTICES = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"I0000 00:00:1796088101.602191    2755 port.cc:153] oneDNN custom operations are on. You"
    b" may see slightly different numerical results due to floating-point round-off errors"
    b" from different computation orders. To turn them off, set the environment variable"
    b" `TF_ENABLE_ONEDNN_OPTS=0`.\n",
    b"I0000 00:00:1796088101.915471    2755 cpu_feature_guard.cc:227] This TensorFlow binary is"
    b" optimized to use available CPU instructions in performance-critical operations.\n",
    b"To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild"
    b" TensorFlow with the appropriate compiler flags.\n",
]
KEPT = [
    b"W0000 00:00:1796088102.000001    2755 gpu_device.cc:2344] Cannot dlopen some GPU"
    b" libraries.\n",
    b"E0000 00:00:1796088102.000002    2755 cuda_dnn.cc:8579] Unable to register cuDNN\n",
    b"Traceback (most recent call last):\n",
    b"Info: a line of someone else's, I0000 inside it\n",
    b"no newline at the end",
]


def test_drops_the_notices_and_keeps_every_other_line_in_order():
    captured = b"".join([NOTICES[0], KEPT[0], *NOTICES[1:3], KEPT[1], KEPT[2], NOTICES[3],
                         NOTICES[0], KEPT[3], NOTICES[1], KEPT[4]])
    assert drop_startup_notices(captured) == b"".join(KEPT)
    assert drop_startup_notices(b"".join(NOTICES)) == b""


def test_a_failing_block_writes_back_what_it_printed_and_raises(capfd):
    with pytest.raises(ImportError, match="no TensorFlow here"), startup_notices_dropped():
        os.write(2, b"".join([NOTICES[0], KEPT[0], NOTICES[1], KEPT[1], NOTICES[3]]))
        raise ImportError("no TensorFlow here")
    assert capfd.readouterr().err.encode() == KEPT[0] + KEPT[1]
    os.write(2, NOTICES[1])  # after the block, stderr is no longer filtered
    assert capfd.readouterr().err.encode() == NOTICES[1]


def _stderr_of(code: str, backend: str) -> str:
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


@pytest.mark.parametrize("code", [
    # a worker process's first call, then the trainer
    "from bench_keras.threads import set_threads\n"
    "assert set_threads(1) == 1\n"  # importing Keras first left TensorFlow's threads settable
    "import bench_keras.trainer",
    "import bench_longmem.keras_cells",
])
def test_importing_the_backend_on_tensorflow_prints_no_start_up_notice(code):
    pytest.importorskip("tensorflow")
    stderr = _stderr_of(code, "tensorflow")
    for notice in ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard",
                   "To enable the following instructions"):
        assert notice not in stderr, stderr


def test_harmless_on_another_keras_backend():
    pytest.importorskip("torch")
    code = ("import sys\nimport bench_keras.trainer\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported on torch'")
    assert _stderr_of(code, "torch") == ""


def test_a_run_on_another_keras_backend_prints_no_start_up_notice():
    """Keras seeds TensorFlow too where it is installed, importing it on the torch backend."""
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    code = ("from harness.runner import build_trainer, plan\n"
            "from harness.spec import RunSpec\n"
            "from tests.helpers import make_host\n"
            "spec = RunSpec(task='copy', cell='keras:lstm', task_params={'length': 3}, "
            "hidden=4, batch=4)\n"
            "build_trainer(plan(spec, make_host('tasks', 'keras').registry))\n")
    assert _stderr_of(code, "torch") == ""


def test_a_sweep_of_many_keras_runs_prints_no_retracing_warning(tmp_path, capfd, caplog,
                                                                monkeypatch):
    """Every run compiles its own step; TensorFlow's warning that many calls traced anew
    (~700 characters each, from about the fifth run of a process) says nothing about them."""
    import harness.plugins
    from harness.cli import main
    from tests.helpers import make_host

    monkeypatch.setattr(harness.plugins, "_default_host", make_host("tasks", "keras"))
    assert main(["run", "--task", "copy", "--cells", "keras:rnn", "--length", "5",
                 "--seeds", "0,1,2,3,4,5", "--steps", "2", "--hidden", "8", "--batch", "8",
                 "--eval-size", "32", "--out", str(tmp_path)]) == 0
    captured = capfd.readouterr()
    assert "records in" in captured.err  # the run's own lines were captured
    # Under pytest TensorFlow's log goes to pytest's handler (TensorFlow adds its own only
    # where the root logger has none), not to stderr as in a user's process.
    logged = [record.getMessage() for record in caplog.records]
    assert not [message for message in logged if "retracing" in message], logged
    assert "retracing" not in captured.err + captured.out
