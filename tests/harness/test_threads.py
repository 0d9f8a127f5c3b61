"""bench's thread policy: the CPUs it may use, the load on them, and what each run gets."""

from __future__ import annotations

import os
import subprocess

import pytest

from harness import allocator
from harness.runner import execute
from harness.spec import RunSpec
from harness.threads import (
    SMALL_STEP,
    CpuTimes,
    ThreadPolicy,
    cgroup_cpu_quota,
    decide,
    others_busy,
    usable_cpus,
)
from tests.conftest import BENCH
from tests.helpers import TINY_RUN, make_host


@pytest.mark.parametrize("busy, concurrent, threads, independent, description", [
    (0.1, 1, 2, None, "auto: 2 of 2 CPUs free"),
    (1.0, 1, 1, None, "auto: 1 of 2 CPUs free"),
    (1.4, 1, 1, None, "auto: 1 of 2 CPUs free"),
    (2.0, 1, 1, 2, "auto: 0 of 2 CPUs free"),
    (0.0, 2, 1, None, "auto: 2 of 2 CPUs free, shared by 2 runs at once"),
    (2.0, 2, 1, None, "auto: 0 of 2 CPUs free, shared by 2 runs at once"),
])
def test_auto_gives_each_run_the_free_cpus_and_independent_work_its_share_of_all_when_none_is(
        busy, concurrent, threads, independent, description, monkeypatch):
    """Measured (docs/threads.md): the compiled LSTM's batch parts on both CPUs beside
    two busy neighbours, torch's own operations on one; with one CPU free, all on it."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    policy = decide(None, concurrent, cpus=2, busy=busy)
    assert policy == ThreadPolicy(threads, description, automatic=True, independent=independent)
    assert policy.independent_threads == (independent or threads)
    assert policy.summary.endswith(f"independent work on {independent}") is bool(independent)


@pytest.mark.parametrize("busy, concurrent, threads, description", [
    (2.0, 1, 2, "auto: 0 of 2 CPUs free, pool spread over all"),
    (2.0, 2, 1, "auto: 0 of 2 CPUs free, pool spread over all, shared by 2 runs at once"),
    (1.0, 1, 1, "auto: 1 of 2 CPUs free"),
    (0.0, 1, 2, "auto: 2 of 2 CPUs free"),
])
def test_a_pool_that_tolerates_sharing_spreads_over_every_cpu_only_when_none_is_free(
        busy, concurrent, threads, description, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    policy = decide(None, concurrent, cpus=2, busy=busy, spread_when_busy=True)
    assert (policy.threads, policy.description) == (threads, description)
    assert policy.independent_threads == threads


@pytest.mark.parametrize("keras_backend, spreads", [("tensorflow", True), ("jax", False),
                                                   ("torch", False)])
def test_tensorflow_spreads_when_busy_and_pytorch_does_not(keras_backend, spreads,
                                                            monkeypatch):
    """Measured (docs/threads.md): with no CPU free two TensorFlow threads beat one, two
    PyTorch threads are many times slower than one."""
    monkeypatch.setenv("KERAS_BACKEND", keras_backend)
    registry = make_host("torch", "keras").registry
    assert registry.backend("torch").spread_when_busy is False
    assert registry.backend("keras").spread_when_busy is spreads


def test_a_run_on_busy_cpus_takes_the_policy_its_backend_declares(registry, monkeypatch):
    import harness.runner as runner

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runner, "busy_now", lambda: float(usable_cpus()))
    spec = RunSpec(task="copy", cell="torch:lstm", task_params={"length": 5}, hidden=64,
                   batch=SMALL_STEP // 64, steps=2, eval_size=16, device="cpu")
    backend = registry.backend("torch")
    monkeypatch.setattr(backend, "spread_when_busy", True)
    env = execute(spec, registry).environment
    assert env["threads"] == usable_cpus() and "spread over all" in env["thread_policy"]
    monkeypatch.setattr(backend, "spread_when_busy", False)
    env = execute(spec, registry).environment
    assert env["threads"] == 1 and "spread" not in env["thread_policy"]
    assert env["independent_threads"] == usable_cpus()
    if usable_cpus() > 1:
        assert env["thread_policy"].endswith(f"independent work on {usable_cpus()}")


@pytest.mark.parametrize("policy, batch, hidden, threads", [
    (ThreadPolicy(2, "auto: 2 of 2 CPUs free", automatic=True), 16, 16, 1),
    (ThreadPolicy(2, "auto: 2 of 2 CPUs free", automatic=True), SMALL_STEP // 128, 127, 1),
    (ThreadPolicy(2, "auto: 2 of 2 CPUs free", automatic=True), SMALL_STEP // 128, 128, 2),
    (ThreadPolicy(2, "--threads 2"), 16, 16, 2),
    (ThreadPolicy(1, "auto: 0 of 2 CPUs free", automatic=True, independent=2), 16, 16, 1),
])
def test_a_small_step_takes_one_thread_unless_the_count_was_asked_for(policy, batch, hidden,
                                                                      threads):
    """Measured (docs/threads.md): tiny steps ran 5-16% faster on one thread than on two."""
    chosen = policy.for_step(batch, hidden)
    assert chosen.threads == chosen.independent_threads == threads
    assert ("small step" in chosen.summary) is (threads < policy.independent_threads)


def test_a_tiny_run_on_free_cpus_runs_on_one_thread(registry, monkeypatch):
    import harness.runner as runner

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runner, "busy_now", lambda: 0.0)
    monkeypatch.setattr("harness.threads.usable_cpus", lambda: 2)
    spec = RunSpec(task="copy", cell="torch:lstm", task_params={"length": 5}, hidden=8,
                   batch=8, steps=2, eval_size=16, device="cpu")
    env = execute(spec, registry).environment
    assert env["threads"] == 1 and env["thread_policy"].endswith("1 for a small step")


def test_threads_asked_for_are_taken_as_they_are(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert decide(3, concurrent=2, cpus=2, busy=2.0) == ThreadPolicy(3, "--threads 3")
    assert decide(None, cpus=2, busy=0.0) == ThreadPolicy(2, "OMP_NUM_THREADS=2")


@pytest.mark.parametrize("files, quota", [
    ({"cpu.max": "150000 100000\n"}, 1.5),
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000"}, 0.5),
    ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
    ({}, None),
])
def test_the_cgroup_quota_is_read_from_v2_or_v1(tmp_path, files, quota):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_quota(tmp_path) == quota


def test_usable_cpus_follow_the_affinity_mask():
    assert usable_cpus() <= len(os.sched_getaffinity(0))
    pinned = subprocess.run(["taskset", "-c", "0", "python3", "-c",
                             "from harness.threads import usable_cpus; print(usable_cpus())"],
                            capture_output=True, text=True)
    if pinned.returncode != 0:
        pytest.skip(f"taskset unavailable: {pinned.stderr.strip()}")
    assert pinned.stdout.strip() == "1"


def test_others_load_is_the_busy_time_this_process_did_not_use():
    start = CpuTimes(busy=10.0, total=100.0, own=1.0, wall=0.0)
    end = CpuTimes(busy=13.0, total=104.0, own=2.0, wall=2.0)  # 2 CPUs for 2 s; 3 s busy
    assert others_busy(start, end) == pytest.approx(1.5 - 0.5)


def test_the_record_names_thread_count_policy_and_load(registry):
    spec = RunSpec(task="copy", cell="torch:lstm", task_params={"length": 5}, hidden=8,
                   batch=8, steps=3, eval_size=16, device="cpu")
    env = execute(spec, registry, threads=decide(1)).environment
    assert (env["threads"], env["thread_policy"]) == (1, "--threads 1")
    assert env["cpus_usable"] >= 1 and env["cpus_busy_at_start"] >= 0
    assert env["cpus_busy_during_run"] >= 0 and len(env["machine_id"]) >= 16
    assert env["allocator"] == allocator.KEPT  # glibc, as on every machine bench runs CI on


def test_bench_run_threads_and_the_users_openmp_wait_policy_are_recorded(tmp_path):
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    out = subprocess.run([BENCH, "run", "--task", "copy", "--cells", "torch:lstm", "--length",
                          "5", "--steps", "3", "--threads", "1", "--out", str(tmp_path),
                          "--json", *TINY_RUN], capture_output=True, text=True,
                         env={**env, "BENCH_PLUGINS": "tasks,torch"})
    assert out.returncode == 0, out.stderr
    assert '"threads": 1' in out.stdout and '"thread_policy": "--threads 1"' in out.stdout
    assert '"omp_wait_policy": "PASSIVE"' in out.stdout


def test_bench_leaves_the_openmp_wait_policy_to_the_framework(tmp_path):
    """Sleeping waits made two quiet torch threads 1.7x slower (README, "Threads"): bench
    does not impose them."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([BENCH, "run", "--task", "copy", "--cells", "torch:lstm", "--length",
                          "5", "--steps", "3", "--threads", "1", "--out", str(tmp_path),
                          "--json", *TINY_RUN], capture_output=True, text=True,
                         env={**env, "BENCH_PLUGINS": "tasks,torch"})
    assert out.returncode == 0, out.stderr
    assert '"omp_wait_policy": null' in out.stdout
