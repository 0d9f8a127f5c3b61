"""Run one spec: build the model through its backend, train, evaluate, measure.

``execute(spec)`` is a pure function of the spec (the data, the initial weights and the
dropout masks all come from its seed), so any executor can ship it to another process.
"""

from __future__ import annotations

import math
import os
import resource
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.allocator import keep_freed_memory
from harness.canonical import init_readout
from harness.environment import host_environment, now_iso
from harness.errors import BackendUnavailableError, UsageError
from harness.footprint import check_fits
from harness.gradients import GradientProfile, compact, lag_profile, reach
from harness.memory import memory_evidence
from harness.plugins import default_host
from harness.protocol import LrSchedule
from harness.records import Accuracy, EvalPoint, RunRecord, Speed, Stability
from harness.registry import Backend, Cell, Registry
from harness.spec import RunSpec
from harness.stats import FAST_END, count_spikes, percentile
from harness.stopping import check as stop_if_asked
from harness.tasks import Batch, Task
from harness.threads import ThreadPolicy, busy_now, cpu_times, decide, others_busy, usable_cpus
from harness.trainer import Trainer, TrainerConfig

EVAL_STREAM_ENTROPY = 20_160_217
"""Fixed seed of the held-out evaluation set, shared by every run of a task."""
MAX_NONFINITE_EVENTS = 10
"""Steps with a non-finite loss or gradient (update skipped) before a run is diverged."""

ProgressCallback = Callable[[int, float], None]
"""Called with (0, nan) as a run begins, before its model is built, then after each training
step with (step, training loss)."""


def _stream(entropy: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(purpose,)))


def init_stream(seed: int) -> np.random.Generator:
    return _stream(seed, 1)


def train_stream(seed: int) -> np.random.Generator:
    return _stream(seed, 2)


def eval_stream() -> np.random.Generator:
    return _stream(EVAL_STREAM_ENTROPY, 3)


@dataclass
class Plan:
    """A validated spec with its registry entries resolved."""

    spec: RunSpec
    task: Task
    cell: Cell
    backend: Backend
    device: str


def plan(spec: RunSpec, registry: Registry) -> Plan:
    """Resolve and check everything a run needs, raising UsageError before any work."""
    task, cell, backend = _resolve(spec, registry)
    return Plan(spec, task, cell, backend, _kernel_device(spec, cell, backend))


def validate(spec: RunSpec, registry: Registry) -> None:
    """Check a run as :func:`plan` does, without importing a framework where it can.

    Every backend runs on the CPU (the conformance kit checks it), so ``auto`` and ``cpu``
    need no probe; the process that executes the run resolves ``auto``. Sparing the
    controlling process the framework import is what lets a worker pool beat a serial run.
    """
    task, cell, backend = _resolve(spec, registry)
    check_fits(spec, task, cell)
    if spec.device not in ("auto", "cpu"):
        _kernel_device(spec, cell, backend)


def _resolve(spec: RunSpec, registry: Registry) -> tuple[Task, Cell, Backend]:
    spec.validate()
    task = registry.task(spec.task).build(spec.task_params)
    (cell,) = registry.resolve_cells([spec.cell])
    unknown = sorted(set(spec.options) - set(cell.options))
    if unknown:
        raise UsageError(
            f"cell {cell.qualified_name!r} does not accept option {_flag(unknown[0])} "
            f"(accepted: {', '.join(map(_flag, cell.options)) or 'none'})"
        )
    if spec.kernel != "auto" and spec.kernel not in cell.kernels:
        elsewhere = sorted(c.backend for c in registry.cells.values()
                           if c.name == cell.name and spec.kernel in c.kernels)
        hint = f"; --backend {elsewhere[0]} keeps the cells that have it" if elsewhere else ""
        raise UsageError(f"cell {cell.qualified_name!r} has no kernel {spec.kernel!r} "
                         f"(valid: {', '.join(('auto', *cell.kernels))}){hint}")
    if spec.init == "framework" and not cell.framework_init:
        raise UsageError(f"cell {cell.qualified_name!r} has no framework initialisation (its "
                         "weights are bench's canonical ones only); use --init canonical")
    return task, cell, registry.backend(cell.backend)


def _flag(option: str) -> str:
    """A cell option as ``bench run`` takes it: ``recurrent_dropout`` is --recurrent-dropout."""
    return f"--{option.replace('_', '-')}"


def _kernel_device(spec: RunSpec, cell: Cell, backend: Backend) -> str:
    """The run's device: ``resolve_device``'s, where the kernel asked for runs (``auto``:
    the first such device)."""
    runs_on = cell.kernel_devices.get(spec.kernel)
    if runs_on is None:
        return resolve_device(backend, spec.device)
    if spec.device == "auto":
        usable = [d for d in backend.list_devices() if d.split(":")[0] in runs_on]
        return usable[0] if usable else resolve_device(backend, runs_on[0])
    if spec.device.split(":")[0] not in runs_on:
        elsewhere = [k for k in ("auto", *cell.kernels) if k not in cell.kernel_devices]
        raise UsageError(f"kernel {spec.kernel!r} of cell {cell.qualified_name!r} runs on "
                         f"{', '.join(runs_on)} only, not on {spec.device!r} (valid there: "
                         f"{', '.join(elsewhere)})")
    return resolve_device(backend, spec.device)


def resolve_device(backend: Backend, requested: str) -> str:
    devices = backend.list_devices()
    if requested == "auto":
        return devices[0]
    if requested not in devices:
        raise BackendUnavailableError(
            f"device {requested!r} is not available to backend {backend.name!r} "
            f"(available: {', '.join(devices)})"
        )
    return requested


def execute(spec: RunSpec, registry: Registry | None = None,
            progress: ProgressCallback | None = None,
            threads: ThreadPolicy | None = None) -> RunRecord:
    """Run ``spec`` to a record. Usage errors raise; anything else becomes status ``failed``.

    ``threads`` is decided here (auto, for one run at a time) when not given. Raises
    :class:`~harness.stopping.RunInterrupted` when a stop is asked for before the last step.
    """
    if progress is not None:  # so a run's wall time counts building and compiling its model
        progress(0, math.nan)
    run = plan(spec, registry or default_host().registry)
    started = now_iso()
    before = cpu_times()
    busy = busy_now()
    policy = (threads or decide(None, busy=busy, spread_when_busy=run.backend.spread_when_busy)
              ).for_step(spec.batch, spec.hidden)
    environment = {**_environment(run), **apply_threads(run.backend, policy, busy),
                   "allocator": keep_freed_memory()}
    steps_done = 0

    def count(step: int, loss: float) -> None:
        nonlocal steps_done
        steps_done = step
        if progress is not None:
            progress(step, loss)

    try:
        record = _train(run, count)
    except Exception as exc:  # a broken run is recorded, never allowed to stop a suite
        record = RunRecord(spec=spec, status="failed", run_id=spec.run_id, steps_done=steps_done,
                           error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}")
    environment["cpus_busy_during_run"] = round(others_busy(before, cpu_times()), 2)
    record.environment = environment
    record.started_at, record.finished_at = started, now_iso()
    return record


def apply_threads(backend: Backend, policy: ThreadPolicy, busy: float) -> dict:
    """Set the run's thread counts in its framework and in every loaded BLAS/OpenMP pool."""
    from threadpoolctl import threadpool_limits

    effective = backend.set_threads(policy.threads) if backend.set_threads else policy.threads
    threadpool_limits(policy.threads)
    independent = {}
    if backend.set_independent_threads:
        backend.set_independent_threads(policy.independent_threads)
        independent["independent_threads"] = policy.independent_threads
    return {
        "threads": effective,
        **independent,
        "thread_policy": policy.summary,
        "cpus_usable": usable_cpus(),
        "cpus_busy_at_start": round(busy, 2),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def _environment(run: Plan) -> dict:
    backend = run.backend
    device_name = backend.describe_device(run.device) if backend.describe_device else run.device
    return {
        **host_environment(),
        "backend": backend.name,
        "framework": backend.framework,
        "framework_version": backend.version,
        "plugin": run.cell.plugin,
        "device": run.device,
        "device_name": device_name,
    }


def build_trainer(run: Plan) -> Trainer:
    spec, task = run.spec, run.task
    rng = init_stream(spec.seed)
    cell_weights = run.cell.initializer(task.input_size, spec.hidden, rng)
    readout_weights = init_readout(spec.hidden, task.output_size, rng)
    config = TrainerConfig(
        cell_name=run.cell.name, cell_factory=run.cell.factory,
        input_size=task.input_size, output_size=task.output_size, hidden=spec.hidden,
        readout=task.readout, loss=task.loss, options=dict(spec.options),
        optimizer=spec.optimizer, lr=spec.lr, clip_norm=spec.clip_norm, device=run.device,
        precision=spec.precision, seed=spec.seed, kernel=spec.kernel,
        cell_weights=cell_weights, readout_weights=readout_weights, init=spec.init,
        epsilon=spec.epsilon, weight_decay=spec.weight_decay, clip_value=spec.clip_value,
        lr_schedule=LrSchedule.parse(spec.lr_schedule), steps=spec.steps,
    )
    return run.backend.build_trainer(config)


class _Evaluator:
    """The fixed held-out set, evaluated in chunks; tracks evaluation throughput."""

    def __init__(self, task: Task, size: int, chunk: int):
        self.task = task
        held_out = task.held_out(eval_stream(), size)
        self.size = len(held_out.inputs)
        self.chunks = [
            Batch(held_out.inputs[i:i + chunk], held_out.targets[i:i + chunk])
            for i in range(0, self.size, chunk)
        ]
        self.seconds: list[float] = []

    def __call__(self, trainer: Trainer) -> tuple[float, np.ndarray]:
        """The loss and the per-example headline scores of the held-out set."""
        start = time.perf_counter()
        losses, outputs = [], []
        for batch in self.chunks:
            loss, out = trainer.evaluate(batch.inputs, batch.targets)
            losses.append(loss * len(batch.inputs))
            outputs.append(out)
        self.seconds.append(time.perf_counter() - start)
        targets = np.concatenate([b.targets for b in self.chunks])
        loss = float(sum(losses) / self.size)
        return loss, self.task.headline_scores(np.concatenate(outputs), targets)

    def samples_per_second(self) -> float | None:
        timed = self.seconds[1:] or self.seconds  # the first includes warm-up
        return self.size / float(np.median(timed)) if timed else None


def _train(run: Plan, progress: ProgressCallback) -> RunRecord:
    spec, task = run.spec, run.task
    trainer = build_trainer(run)
    evaluate = _Evaluator(task, spec.eval_size, chunk=max(spec.batch, 256))
    rng = train_stream(spec.seed)
    accuracy = Accuracy(baseline_loss=task.baseline_loss, headline_name=task.headline,
                        chance=task.chance, solved_criterion=task.solved_criterion)
    status = "ok"
    step_seconds: list[float] = []
    step_faults: list[int] = []
    reference_seconds: list[float] = []
    losses: list[float] = []
    grad_norms: list[float] = []
    nonfinite = 0
    train_seconds = 0.0

    passed: list[bool] = []  # whether each evaluation met the solved criterion

    def record_eval(step: int) -> bool:
        loss, scores = evaluate(trainer)
        headline, ratio = float(np.mean(scores)), loss / task.baseline_loss
        accuracy.memory = memory_evidence(scores, task.chance)
        point = EvalPoint(step, round(train_seconds, 4), loss, ratio, headline,
                          accuracy.memory.p_value)
        passed.append(math.isfinite(loss) and task.is_solved(loss, headline))
        if passed[-2:] == [True, True]:
            confirm_solved(accuracy, accuracy.curve[-1])
        accuracy.curve.append(point)
        accuracy.final_loss, accuracy.loss_ratio, accuracy.headline = loss, ratio, headline
        return math.isfinite(loss)

    probe_batch = evaluate.chunks[0]
    initial_profile = _lag_profile(trainer, probe_batch)
    step = 0
    record_eval(0)
    for step in range(1, spec.steps + 1):
        stop_if_asked()
        batch = task.sample(rng, spec.batch)
        faults = _minor_faults()
        start = time.perf_counter()
        result = trainer.train_step(batch.inputs, batch.targets)
        elapsed = time.perf_counter() - start
        step_faults.append(_minor_faults() - faults)
        reference_seconds.append(reference_work())
        train_seconds += elapsed
        step_seconds.append(elapsed)
        losses.append(result.loss)
        grad_norms.append(result.grad_norm)
        progress(step, result.loss)
        if not result.applied:
            nonfinite += 1
            if nonfinite > MAX_NONFINITE_EVENTS:
                status = "diverged"
                break
        if step % spec.eval_every == 0 or step == spec.steps:
            if not record_eval(step):
                status = "diverged"
                break
            if accuracy.solved and spec.stop_when_solved:
                break

    speed = _speed(run, trainer, step_seconds, step_faults, evaluate, reference_seconds)
    stability = Stability(
        grad_norm_median=percentile(grad_norms, 50),
        grad_norm_p99=percentile(grad_norms, 99),
        grad_norm_max=percentile(grad_norms, 100),
        clipped_fraction=float(np.mean(np.asarray(grad_norms) > spec.clip_norm))
        if grad_norms and spec.clip_norm is not None else None,
        nonfinite_events=nonfinite,
        loss_spikes=count_spikes(losses),
        gradient_profile=_profile_record(initial_profile, _lag_profile(trainer, probe_batch)),
    )
    return RunRecord(spec=spec, status=status, run_id=spec.run_id, steps_done=step,
                     accuracy=accuracy, speed=speed, stability=stability)


def confirm_solved(accuracy: Accuracy, first: EvalPoint) -> None:
    """Mark solved at ``first``, the earlier of two consecutive evaluations that both met the
    criterion. One evaluation is not enough: a run's held-out loss can dip under the
    criterion and come back above it at the next evaluation (docs/memory.md)."""
    if not accuracy.solved:
        accuracy.solved, accuracy.steps_to_solve = True, first.step
        accuracy.seconds_to_solve = first.seconds


def _lag_profile(trainer: Trainer, batch: Batch) -> np.ndarray | None:
    if not hasattr(trainer, "input_gradient"):
        return None
    return lag_profile(trainer.input_gradient(batch.inputs, batch.targets))


def _profile_record(initial: np.ndarray | None, final: np.ndarray | None) -> GradientProfile | None:
    if initial is None or final is None:
        return None
    return GradientProfile(initial=compact(initial), final=compact(final),
                           reach_initial=reach(initial), reach_final=reach(final))


def _minor_faults() -> int:
    """The process's minor page faults so far: first touches of memory it was given (and,
    with ``--executor thread``, other runs' too)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


REFERENCE_LOOP = 2000
"""Size of :func:`reference_work`: about 28-30 µs of interpreter time on a 2-core VM."""


def reference_work() -> float:
    """Seconds a fixed piece of interpreter work takes now: timed beside every step, it shows
    whether the machine itself ran slower during a run (another virtual machine on the same
    cores, which no process of this one shows), which the step times alone cannot tell apart
    from slower code."""
    sum(range(REFERENCE_LOOP))  # once untimed: right after a step, the first call pays for
    start = time.perf_counter()  # the caches the step left, which would make it read the code
    sum(range(REFERENCE_LOOP))
    return time.perf_counter() - start


def _speed(run: Plan, trainer: Trainer, step_seconds: list[float], step_faults: list[int],
           evaluate: _Evaluator, reference_seconds: list[float]) -> Speed:
    spec = run.spec
    warmup = min(spec.warmup_steps, max(len(step_seconds) - 1, 0))
    timed_ms = [s * 1000.0 for s in step_seconds[warmup:]]
    timed_faults = step_faults[warmup:]
    median_ms = percentile(timed_ms, 50)
    peak = trainer.peak_device_memory()
    return Speed(
        device=run.device,
        kernel_path=trainer.kernel_path,
        parameter_count=trainer.parameter_count,
        timed_steps=len(timed_ms),
        step_ms_median=median_ms,
        step_ms_p10=percentile(timed_ms, 10),
        step_ms_p90=percentile(timed_ms, 90),
        warmup_seconds=round(sum(step_seconds[:warmup]), 4),
        tokens_per_second=spec.batch * run.task.length / (median_ms / 1000.0)
        if median_ms else None,
        eval_samples_per_second=evaluate.samples_per_second(),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        page_faults_per_step=percentile(timed_faults, 50),
        device_peak_mb=peak / 2**20 if peak is not None else None,
        step_ms=[round(ms, 3) for ms in timed_ms],
        reference_us=percentile([s * 1e6 for s in reference_seconds[warmup:]], FAST_END),
    )
