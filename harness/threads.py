"""bench's thread policy: how many threads each run may use, the same in every executor.

A framework left to itself starts one thread per core of the host. On a shared machine (a CI
runner, a workstation running other work) that is slower than fewer threads, often by 2-3x:
the threads wait for cores that are busy. bench therefore decides the count per run, from
the CPUs this process may use (its affinity and the cgroup's CPU quota, not the host's core
count), the load other processes put on them at the start of the run, and how many runs go
on at once; ``--threads N`` overrides. The measurements behind the default are in
docs/threads.md.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

LOAD_SAMPLE_S = 0.15
"""How long the load on our CPUs is sampled at the start of a run."""


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return cpus


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs' worth of time the cgroup may use (cgroup v2 ``cpu.max``, else v1 CFS quota), or
    None when unlimited or unknown."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class CpuTimes:
    """Busy and total time of our CPUs and of this process, at one instant."""

    busy: float
    """Seconds our CPUs (the affinity set) spent busy since boot."""
    total: float
    """Seconds they existed (busy plus idle) since boot."""
    own: float
    """CPU seconds this process has used (all its threads, and its waited-for children)."""
    wall: float


def cpu_times() -> CpuTimes:
    ticks = os.sysconf("SC_CLK_TCK")
    busy = total = 0
    mine = _affinity()
    try:
        with open("/proc/stat") as handle:
            for line in handle:
                name, *fields = line.split()
                if not (name.startswith("cpu") and name[3:].isdigit()):
                    continue
                if mine is not None and int(name[3:]) not in mine:
                    continue
                values = [int(v) for v in fields[:8]]
                idle = values[3] + values[4]  # idle and iowait
                busy += sum(values) - idle
                total += sum(values)
    except OSError:  # no /proc: nothing to go on, every CPU counts as free
        pass
    usage = os.times()
    return CpuTimes(busy / ticks, total / ticks, usage.user + usage.system, time.monotonic())


def _affinity() -> set[int] | None:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:
        return None


def others_busy(start: CpuTimes, end: CpuTimes) -> float:
    """How many of our CPUs other processes kept busy, on average, between two samples."""
    if end.total <= start.total:
        return 0.0
    cpus = (end.total - start.total) / max(end.wall - start.wall, 1e-9)
    share = (end.busy - start.busy) / (end.total - start.total) * cpus
    own = (end.own - start.own) / max(end.wall - start.wall, 1e-9)
    return max(0.0, share - own)


def busy_now(seconds: float = LOAD_SAMPLE_S) -> float:
    """CPUs (of ours) other processes keep busy, sampled over ``seconds``."""
    start = cpu_times()
    time.sleep(seconds)
    return others_busy(start, cpu_times())


SMALL_STEP = 8192
"""Batch x hidden below which a step runs on one thread under the automatic policy, in every
backend: measured for PyTorch and TensorFlow alike (docs/threads.md: the tiny rows, where
two threads were slower in 10 of 12 quiet measurements). For PyTorch the reason is visible:
the largest gate block (an LSTM's 4 x hidden per example) is then under ATen's grain size of
32768 elements, below which it runs an elementwise operation on one thread anyway, so a
second thread only adds synchronisation."""


@dataclass(frozen=True)
class ThreadPolicy:
    """The thread count decided for runs, and why."""

    threads: int
    description: str
    """``auto: 2 of 2 CPUs free`` or ``--threads 1``, for the record."""
    automatic: bool = False
    """Decided by bench (not ``--threads`` or ``OMP_NUM_THREADS``), so a small step may
    take fewer threads."""
    independent: int | None = None
    """Threads for work whose threads never wait for one another within a run (a backend's
    ``set_independent_threads``: bench's compiled loops, one batch part per thread), when
    not ``threads``. Such work keeps its pace when other processes preempt a thread, so
    under ``auto`` with no CPU free it takes the run's share of every usable CPU."""

    @property
    def independent_threads(self) -> int:
        return self.threads if self.independent is None else self.independent

    @property
    def summary(self) -> str:
        """The description, with the independent work's threads where they differ."""
        if self.independent is None:
            return self.description
        return f"{self.description}; independent work on {self.independent}"

    def for_step(self, batch: int, hidden: int) -> ThreadPolicy:
        """This policy for a run of ``batch`` x ``hidden``: one thread for a small step."""
        if not self.automatic or self.independent_threads == 1 or batch * hidden >= SMALL_STEP:
            return self
        return ThreadPolicy(1, f"{self.description}; 1 for a small step", automatic=True)


def decide(requested: int | None, concurrent: int = 1, cpus: int | None = None,
           busy: float | None = None, spread_when_busy: bool = False) -> ThreadPolicy:
    """``requested`` threads, else ``OMP_NUM_THREADS`` where the user set it, else (auto) the
    CPUs free to us shared among ``concurrent`` runs.

    Auto counts a CPU as free when other processes leave at least half of it (measured over
    :data:`LOAD_SAMPLE_S` unless ``busy`` is given), and gives every run at least one thread.
    When no CPU is free and the framework's pool keeps working with its threads preempted
    (``spread_when_busy``, see :attr:`harness.registry.Backend.spread_when_busy`), a run takes
    its share of every usable CPU instead: its threads then get more of the oversubscribed
    CPUs than one thread would. Work whose threads never wait for one another
    (:attr:`ThreadPolicy.independent`) takes that share whenever no CPU is free. Not when
    some are: a thread on a free CPU then runs ahead of one sharing a busy CPU, and waits
    for it at the end (measured, README "Threads").
    """
    if requested is not None:
        return ThreadPolicy(requested, f"--threads {requested}")
    chosen = os.environ.get("OMP_NUM_THREADS", "")
    if chosen.isdigit() and int(chosen) > 0:
        return ThreadPolicy(int(chosen), f"OMP_NUM_THREADS={chosen}")
    cpus = usable_cpus() if cpus is None else cpus
    busy = busy_now() if busy is None else busy
    free = max(0, min(cpus, math.floor(cpus - busy + 0.5)))
    shared = f", shared by {concurrent} runs at once" if concurrent > 1 else ""
    share = max(1, cpus // concurrent)
    if free == 0 and spread_when_busy:
        return ThreadPolicy(share, f"auto: 0 of {cpus} CPUs free, pool spread over all{shared}",
                            automatic=True)
    threads = max(1, free // concurrent)
    spread = free == 0 and share > threads
    return ThreadPolicy(threads, f"auto: {free} of {cpus} CPUs free{shared}", automatic=True,
                        independent=share if spread else None)
