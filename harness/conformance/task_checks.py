"""The checks every registered task must pass (see :mod:`harness.conformance`).

Each takes a :class:`~harness.conformance.task_fixture.TaskFixture`, returns a short detail
and raises CheckFailed with what is wrong and how to fix it. They reach the task only
through its contract: :class:`harness.tasks.TaskDefinition` and :class:`harness.tasks.Task`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any, get_args

import numpy as np

from harness.conformance.results import Check, CheckFailed, CheckSkipped, describe_exception
from harness.conformance.task_fixture import SEED, TaskFixture
from harness.errors import UsageError
from harness.tasks import (
    IGNORE_TARGET,
    LENGTH_PARAMETER,
    Batch,
    LossKind,
    Parameter,
    Readout,
    Task,
)

CONTRACT = "see harness/tasks.py (Task, Batch, TaskDefinition) and docs/plugins.md"
BATCH_SIZES = (1, 3)


def parameters(f: TaskFixture) -> str:
    """The defaults build; every boundary, out-of-range or ill-typed value is refused with a
    UsageError naming its parameter, or builds a valid task that samples its length."""
    _require_task(f.task())
    for p in f.definition.parameters:
        if not p.help:
            raise CheckFailed(f"parameter {p.name!r} has no help text",
                              "say what it sets: `bench list` and `bench run --help` show it")
    tried = 0
    for p in f.definition.parameters:
        for value in _probe_values(p):
            tried += 1
            where = f"{p.name}={value!r}"
            try:
                task = f.definition.build({p.name: value})
            except UsageError as exc:
                if p.name not in str(exc):
                    raise CheckFailed(f"{where} is refused with {str(exc)!r}, which does not "
                                      "name the parameter",
                                      f"name {p.name!r} in the message") from None
                continue
            except Exception as exc:
                raise CheckFailed(f"{where} raised {describe_exception(exc)}",
                                  _bounds_fix(p)) from None
            try:
                _require_task(task)
                _require_steps(task)
            except CheckFailed as failure:
                raise CheckFailed(f"{where} is accepted, but {failure.message}",
                                  _bounds_fix(p)) from None
            except Exception as exc:
                raise CheckFailed(f"{where} is accepted, but sample() raised "
                                  f"{describe_exception(exc)}", _bounds_fix(p)) from None
    return f"defaults build; refused or valid at each of {tried} boundary and bad values"


def batch(f: TaskFixture) -> str:
    """Declared attributes are valid; train, eval and held-out batches have the shapes and
    dtypes of :class:`harness.tasks.Batch` for the task's read-out and loss."""
    task = f.task()
    _require_task(task)
    for split in ("train", "eval"):
        for size in BATCH_SIZES:
            drawn = task.sample(np.random.default_rng(SEED), size, split=split)
            _require_batch(task, drawn, size, f"sample(rng, {size}, split={split!r})")
    held = task.held_out(np.random.default_rng(SEED), 5)
    _require_batch(task, held, None, "held_out(rng, 5)")
    return (f"inputs [batch, {task.length}, {task.input_size}] float32, targets "
            f"{_target_layout(task)}")


def deterministic(f: TaskFixture) -> str:
    """The same seed gives the same batch (whatever the global random state and the
    instance), other seeds another; the held-out set is fixed by its seed."""
    fix = ("draw every random number from the rng argument, never from np.random.*, "
           "random or a generator kept on the task")
    drawn = {}
    for split in ("train", "eval"):
        drawn[split] = _scrambled(1, f.task().sample, np.random.default_rng(7), 8, split)
        again = _scrambled(2, f.definition.build({}).sample, np.random.default_rng(7), 8,
                           split)
        if not _same(drawn[split], again):
            raise CheckFailed(f"sample(split={split!r}) gave two batches for one seed", fix)
    if _same(drawn["train"], f.task().sample(np.random.default_rng(8), 8)):
        raise CheckFailed("sample() gave the same batch for seeds 7 and 8",
                          "draw the batch from the rng argument")
    held = _scrambled(3, f.task().held_out, np.random.default_rng(SEED), 16)
    held_again = _scrambled(4, f.definition.build({}).held_out, np.random.default_rng(SEED),
                            16)
    if not _same(held, held_again):
        raise CheckFailed("held_out() gave two sets for one seed", fix)
    return "same seed same batch, train and eval; other seed differs; held-out set fixed"


def baseline(f: TaskFixture) -> str:
    """``baseline_loss`` is the loss of the input-free predictor, measured."""
    details = []
    for params in f.settings():
        task, m = f.task(params), f.measurement(params)
        if abs(m.loss - task.baseline_loss) > m.loss_tolerance:
            raise CheckFailed(
                f"{_setting(params)}baseline_loss is {task.baseline_loss:.5g}, but the best "
                f"predictor that ignores the input, fitted on {m.examples} training examples, "
                f"scores {m.loss:.5g} ± {m.loss_tolerance:.2g} on {m.held_out} held-out ones",
                "declare the loss of the per-position class frequencies (xent: the "
                "targets' entropy averaged over the counted positions) or of the targets' "
                "mean (mse: their variance), as the task scores it")
        details.append(f"{_setting(params)}declared {task.baseline_loss:.4g}, measured "
                       f"{m.loss:.4g} ± {m.loss_tolerance:.1g}")
    return "; ".join(details)


def chance(f: TaskFixture) -> str:
    """``chance`` is the headline metric of the same input-free predictor, measured."""
    details = []
    for params in f.settings():
        task, m = f.task(params), f.measurement(params)
        if abs(m.headline - task.chance) > m.headline_tolerance + 1e-9:
            raise CheckFailed(
                f"{_setting(params)}chance is {task.chance:.4g}, but the best predictor that "
                f"ignores the input scores {task.headline} {m.headline:.4g} ± "
                f"{m.headline_tolerance:.2g} on {m.held_out} held-out examples",
                "declare the headline metric of the most frequent class at each position "
                "(xent) or of the targets' mean (mse)")
        details.append(f"{_setting(params)}declared {task.chance:.3g}, measured "
                       f"{m.headline:.3g} ± {m.headline_tolerance:.1g}")
    return "; ".join(details)


def headline(f: TaskFixture) -> str:
    """Per-example scores are in [0, 1], 1 for perfect outputs, and average to the headline
    metric; ``is_solved`` holds for perfect outputs but not at the baseline."""
    task = f.task()
    drawn = task.sample(np.random.default_rng(SEED), 16)
    perfect = _perfect_outputs(task, drawn.targets)
    noisy = np.random.default_rng(SEED).normal(size=perfect.shape).astype(np.float32)
    for name, outputs in (("outputs equal to the targets", perfect), ("random outputs", noisy)):
        scores = np.asarray(task.headline_scores(outputs, drawn.targets))
        if scores.shape != (16,) or not ((scores >= 0) & (scores <= 1)).all():
            raise CheckFailed(f"headline_scores() of {name} for 16 examples is "
                              f"{_describe(scores)} {np.round(scores, 3).tolist()}",
                              "return one score in [0, 1] per example, shape [batch]")
        metric = task.headline_metric(outputs, drawn.targets)
        if not math.isclose(metric, float(scores.mean()), rel_tol=1e-6, abs_tol=1e-9):
            raise CheckFailed(f"headline_metric() of {name} is {metric!r}, the mean of "
                              f"headline_scores() {scores.mean()!r}",
                              "leave headline_metric to the Task base class: the mean of "
                              "headline_scores")
    if not np.allclose(task.headline_scores(perfect, drawn.targets), 1.0):
        raise CheckFailed("headline_scores() of outputs equal to the targets are not all 1",
                          "score perfect outputs 1: higher is better, in [0, 1]")
    if not task.is_solved(0.0, 1.0):
        raise CheckFailed("is_solved(loss=0, headline=1) is False",
                          "count perfect outputs as solved")
    if task.is_solved(task.baseline_loss, task.chance):
        raise CheckFailed("is_solved(baseline_loss, chance) is True: the input-free "
                          "predictor would solve the task", "set the criterion above chance")
    return f"{task.headline} 1 when perfect; solved: {task.solved_criterion}"


def length(f: TaskFixture) -> str:
    """A declared ``length`` follows :data:`harness.tasks.LENGTH_PARAMETER`'s convention."""
    p = f.length_parameter()
    if p is None:
        raise CheckSkipped("no 'length' parameter: --length, --lengths and the memory search "
                           "do not apply")
    fix = (f"declare Parameter({LENGTH_PARAMETER!r}, int, default=..., minimum=...), the "
           "delay, with a longer sequence for each larger value (harness.tasks."
           "LENGTH_PARAMETER)")
    if p.type is not int or p.minimum is None:
        raise CheckFailed(f"'length' is declared as {p.type.__name__} with minimum "
                          f"{p.minimum!r}", fix)
    values = (p.default, p.default + 1, p.default + 7)
    steps = []
    for value in values:
        task = f.task({LENGTH_PARAMETER: value})
        _require_steps(task)
        steps.append(task.length)
    if not steps[0] < steps[1] < steps[2]:
        raise CheckFailed(f"length {', '.join(map(str, values))} build sequences of "
                          f"{', '.join(map(str, steps))} steps", fix)
    return f"length {', '.join(map(str, values))} -> {', '.join(map(str, steps))} steps"


TASK_CHECKS = (
    Check("parameters", parameters, CONTRACT),
    Check("batch", batch, CONTRACT),
    Check("deterministic", deterministic, CONTRACT),
    Check("baseline", baseline, CONTRACT),
    Check("chance", chance, CONTRACT),
    Check("headline", headline, CONTRACT),
    Check("length", length, CONTRACT),
)


def _require_task(task: Any) -> None:
    if not isinstance(task, Task):
        raise CheckFailed(f"the factory returned {type(task).__name__}, not a Task",
                          "return an instance of a harness.tasks.Task subclass")
    problems = []
    for name in ("input_size", "output_size", "length"):
        value = getattr(task, name, None)
        if not isinstance(value, int | np.integer) or value < 1:
            problems.append(f"{name} {value!r} (a positive int)")
    if getattr(task, "readout", None) not in get_args(Readout):
        problems.append(f"readout {getattr(task, 'readout', None)!r} (one of "
                        f"{', '.join(get_args(Readout))})")
    if getattr(task, "loss", None) not in get_args(LossKind):
        problems.append(f"loss {getattr(task, 'loss', None)!r} (one of "
                        f"{', '.join(get_args(LossKind))})")
    loss = getattr(task, "baseline_loss", None)
    if not isinstance(loss, float | int) or not math.isfinite(loss) or loss <= 0:
        problems.append(f"baseline_loss {loss!r} (a positive float)")
    level = getattr(task, "chance", None)
    if not isinstance(level, float | int) or not 0 <= level <= 1:
        problems.append(f"chance {level!r} (in [0, 1])")
    for name in ("headline", "solved_criterion"):
        if not isinstance(getattr(task, name, None), str) or not getattr(task, name):
            problems.append(f"{name} {getattr(task, name, None)!r} (a non-empty str)")
    if problems:
        raise CheckFailed(f"the task declares {'; '.join(problems)}",
                          "set these attributes in the class or in __init__")


def _require_steps(task: Task) -> None:
    """A sampled batch has as many steps as the task's ``length``."""
    steps = task.sample(np.random.default_rng(SEED), 2).inputs.shape[1]
    if steps != task.length:
        raise CheckFailed(f"sample() gives {steps} steps where the task's length is "
                          f"{task.length}", "set length to the number of input steps")


def _require_batch(task: Task, drawn: Batch, size: int | None, where: str) -> None:
    """``drawn`` has the layout of :class:`~harness.tasks.Batch` for ``task``."""
    if not isinstance(drawn, Batch):
        raise CheckFailed(f"{where} returned {type(drawn).__name__}, not a Batch",
                          "return harness.tasks.Batch(inputs, targets)")
    x, y = drawn.inputs, drawn.targets
    size = len(x) if size is None else size
    expected = (size, task.length, task.input_size)
    fix = "follow harness.tasks.Batch for the task's readout and loss"
    if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.shape != expected:
        raise CheckFailed(f"{where} inputs are {_describe(x)}, expected float32 "
                          f"{list(expected)} [batch, length, input_size]", fix)
    if not np.isfinite(x).all():
        raise CheckFailed(f"{where} inputs are not all finite", "draw finite inputs")
    shape = (size, task.length) if task.readout == "every_step" else (size,)
    dtype = np.int64
    if task.loss == "mse":
        shape, dtype = (size, task.output_size), np.float32
    if not isinstance(y, np.ndarray) or y.dtype != dtype or y.shape != shape:
        raise CheckFailed(f"{where} targets are {_describe(y)}, expected "
                          f"{np.dtype(dtype).name} {list(shape)} for {task.readout} "
                          f"{task.loss}", fix)
    if task.loss == "mse":
        if not np.isfinite(y).all():
            raise CheckFailed(f"{where} targets are not all finite", "draw finite targets")
        return
    counted = y != IGNORE_TARGET
    if task.readout == "last_step" and not counted.all():
        raise CheckFailed(f"{where} has IGNORE_TARGET with a last-step read-out",
                          "give every example its class")
    if not counted.reshape(size, -1).any(axis=1).all():
        raise CheckFailed(f"{where} has an example whose every target is IGNORE_TARGET",
                          "count at least one position of each example")
    if ((y[counted] < 0) | (y[counted] >= task.output_size)).any():
        raise CheckFailed(f"{where} targets hold classes outside 0..{task.output_size - 1}",
                          f"use class indices below output_size, or {IGNORE_TARGET} for "
                          "positions without a loss")


def _target_layout(task: Task) -> str:
    if task.loss == "mse":
        return f"float32 [batch, {task.output_size}]"
    return "int64 [batch, length]" if task.readout == "every_step" else "int64 [batch]"


def _perfect_outputs(task: Task, targets: np.ndarray) -> np.ndarray:
    if task.loss == "mse":
        return targets.copy()
    return np.eye(task.output_size, dtype=np.float32)[np.where(targets < 0, 0, targets)]


def _probe_values(p: Parameter) -> list[Any]:
    """Values at and beyond the declared bounds, zero and -1 where nothing bounds them,
    and a value of the wrong type."""
    if p.type is bool:
        return ["sometimes"]
    if p.type not in (int, float):
        return []
    values: list[Any] = []
    step = 1 if p.type is int else 0.5
    if p.minimum is not None:
        values += [p.type(p.minimum), p.type(p.minimum) - step]
    else:
        values += [p.type(0), p.type(-1)]
    if p.maximum is not None:
        values += [p.type(p.maximum), p.type(p.maximum) + step]
    return [*dict.fromkeys(values), "not-a-number"]


def _bounds_fix(p: Parameter) -> str:
    return (f"declare the valid range on Parameter({p.name!r}, minimum=..., maximum=...), or "
            f"raise harness.errors.UsageError naming {p.name!r} for a value the task cannot "
            "take")


def _scrambled(seed: int, draw: Callable[..., Batch], *args: Any) -> Batch:
    """``draw(*args)`` with numpy's and Python's global generators reseeded, then restored."""
    saved = np.random.get_state(), random.getstate()
    np.random.seed(seed)
    random.seed(seed)
    try:
        return draw(*args)
    finally:
        np.random.set_state(saved[0])
        random.setstate(saved[1])


def _same(a: Batch, b: Batch) -> bool:
    return np.array_equal(a.inputs, b.inputs) and np.array_equal(a.targets, b.targets)


def _describe(array: Any) -> str:
    if not isinstance(array, np.ndarray):
        return type(array).__name__
    return f"{array.dtype} {list(array.shape)}"


def _setting(params: dict) -> str:
    return "".join(f"{k}={v}: " for k, v in params.items())
