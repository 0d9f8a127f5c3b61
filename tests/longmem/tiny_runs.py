"""A tiny training run of a long-memory cell, shared by the backends' tests."""

from __future__ import annotations

from harness.records import RunRecord
from harness.registry import Registry
from harness.runner import execute
from harness.spec import RunSpec


def loss_ratio_after_tiny_run(registry: Registry, cell: str, task: str, steps: int) -> float:
    """Loss ÷ the task's memoryless baseline after ``steps`` steps at length 10, hidden 16,
    batch 16, on the CPU; the run must end ok."""
    spec = RunSpec(task=task, cell=cell, task_params={"length": 10}, hidden=16, batch=16,
                   steps=steps, eval_every=steps, eval_size=64, warmup_steps=1, device="cpu",
                   stop_when_solved=False)
    record: RunRecord = execute(spec, registry)
    assert record.status == "ok", record.error
    return record.accuracy.loss_ratio
