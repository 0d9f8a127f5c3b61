"""Synthetic run records: every number a comparison reads, set directly."""

from __future__ import annotations

import numpy as np

from harness.records import Accuracy, RunRecord, Speed, Stability
from harness.spec import RunSpec

ENVIRONMENT = {"hostname": "vm", "machine_id": "ci-1", "cpu_model": "EPYC", "cpu_count": 2,
               "device_name": "cpu", "python": "3.11.9", "framework": "PyTorch",
               "framework_version": "2.13.0", "git_commit": "0123456789abcdef", "threads": 1,
               "thread_policy": "--threads 1", "cpus_usable": 2, "cpus_busy_at_start": 0.1,
               "cpus_busy_during_run": 0.1}


def step_times(median_ms: float, n: int = 200, spread: float = 0.05,
               seed: int = 0) -> list[float]:
    """Log-normal step times around ``median_ms``, as timed steps on a quiet machine."""
    rng = np.random.default_rng(seed)
    return [round(float(ms), 3) for ms in median_ms * np.exp(spread * rng.standard_normal(n))]


def make_record(cell: str = "torch:lstm", seed: int = 0, task: str = "adding",
                length: int = 10, *, headline: float | None = 0.9,
                loss_ratio: float | None = 0.2, solved: bool = True,
                steps_to_solve: int | None = 100, step_ms: list[float] | None = None,
                status: str = "ok", nonfinite: int = 0, started_at: str = "2026-01-01T00:00:00",
                schema_version: int = 1, reference_us: float | None = None,
                **environment) -> RunRecord:
    spec = RunSpec(task=task, cell=cell, task_params={"length": length}, seed=seed)
    accuracy = Accuracy(baseline_loss=1 / 6, headline_name="accuracy", chance=0.08,
                        solved_criterion="MSE <= 0.01", final_loss=None, loss_ratio=loss_ratio,
                        headline=headline, solved=solved,
                        steps_to_solve=steps_to_solve if solved else None)
    speed = Speed("cpu", "fused:nn.LSTM", 1000, step_ms=step_times(10.0, seed=seed)
                  if step_ms is None else step_ms, reference_us=reference_us)
    return RunRecord(spec=spec, status=status, run_id=spec.run_id, steps_done=100,
                     accuracy=None if status == "failed" else accuracy,
                     speed=None if status == "failed" else speed,
                     stability=Stability(grad_norm_p99=1.0, nonfinite_events=nonfinite),
                     environment={**ENVIRONMENT, **environment}, started_at=started_at,
                     schema_version=schema_version)
