"""The checks every cell of an available backend must pass (see :mod:`harness.conformance`).

Each takes a :class:`~harness.conformance.fixture.CellFixture`, returns a short detail and
raises CheckFailed with what is wrong and how to fix it. They reach the cell only through
the contracts: ``Backend.build_trainer`` and the :class:`~harness.trainer.Trainer` it
returns, ``Backend.probe_cell``, ``Cell.initializer`` and :func:`harness.runner.execute`.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from itertools import pairwise

import numpy as np

from harness.canonical import Weights
from harness.conformance.fixture import (
    BATCH,
    HIDDEN,
    INPUT_SIZE,
    LENGTH,
    OUTPUT_SIZE,
    RATE,
    SEED,
    TRAIN_STEPS,
    CellFixture,
)
from harness.conformance.numeric import (
    PROBE_STEP,
    central_difference,
    directional_derivatives_agree,
    reference_probe,
    weighted_sum,
)
from harness.conformance.results import Check, CheckFailed, CheckSkipped
from harness.formatting import plural
from harness.parity import compare
from harness.protocol import LrSchedule
from harness.records import RunRecord
from harness.registry import STANDARD_OPTIONS
from harness.runner import execute
from harness.spec import RunSpec

REACH_BATCH, REACH_LENGTH = 16, 12
"""The sample on which every weight entry must get a gradient."""


def construct(f: CellFixture) -> str:
    """The initializer is seeded and canonical; the backend builds a trainer from it."""
    init = f.cell.initializer
    first, again = (init(INPUT_SIZE, HIDDEN, np.random.default_rng(SEED)) for _ in range(2))
    _require_layout(first, "the initializer")
    if not _same(first, again, exact=True):
        raise CheckFailed("the initializer gave different weights for the same seed",
                          "draw every number from the rng argument, never from global state")
    other = init(INPUT_SIZE, HIDDEN, np.random.default_rng(SEED + 1))
    if _same(first, other, exact=True):
        raise CheckFailed("the initializer gave the same weights for different seeds",
                          "draw the kernels from the rng argument (harness.canonical has "
                          "glorot_uniform and orthogonal)")
    snap = f.snapshot()
    if not isinstance(snap.kernel_path, str) or not snap.kernel_path:
        raise CheckFailed(f"trainer.kernel_path is {snap.kernel_path!r}",
                          "name the execution path that runs, e.g. 'loop' or 'fused:nn.LSTM'")
    expected = sum(v.size for v in snap.loaded.values()) + HIDDEN * OUTPUT_SIZE + OUTPUT_SIZE
    if snap.parameter_count != expected:
        raise CheckFailed(
            f"trainer.parameter_count is {snap.parameter_count}, but the canonical weights "
            f"and the read-out hold {expected}",
            "count exactly the trainable parameters; keep framework-only ones (a second "
            "bias) frozen or fold them into the canonical ones",
        )
    return f"{snap.kernel_path}, {snap.parameter_count} parameters"


def forward(f: CellFixture) -> str:
    """Output shapes for several batch sizes, lengths and hidden sizes; finite values."""
    outputs = f.snapshot().outputs
    _require_shape("evaluate() outputs (every-step read-out)", outputs,
                   (BATCH, LENGTH, OUTPUT_SIZE))
    last_step = f.last_step_trainer()
    rng = np.random.default_rng(SEED)
    for batch, length in ((2, LENGTH + 2), (1, 1)):
        x = rng.normal(size=(batch, length, INPUT_SIZE)).astype(np.float32)
        _, out = last_step.evaluate(x, np.zeros((batch, OUTPUT_SIZE), np.float32))
        _require_shape(f"evaluate() outputs (last-step read-out, hidden {HIDDEN - 1})",
                       np.asarray(out), (batch, OUTPUT_SIZE))
    if f.backend.probe_cell is None:
        return "trainer shapes only (no probe_cell)"
    probe = f.probe(f.weights(), f.inputs, f.cotangent)
    _require_shape("probe outputs", probe.outputs, (BATCH, LENGTH, HIDDEN))
    if not probe.final_state:
        raise CheckFailed("the probe's final state is empty", "return (h,) or (h, c)")
    for i, state in enumerate(probe.final_state):
        _require_shape(f"final state [{i}]", state, (BATCH, HIDDEN))
    if not np.allclose(probe.final_state[0], probe.outputs[:, -1], rtol=1e-5, atol=1e-6):
        raise CheckFailed("the final state's h differs from the last output",
                          "return the state after the last step, h first")
    return (f"shapes follow batch, length and hidden; "
            f"{plural(len(probe.final_state), 'state tensor')}")


def deterministic(f: CellFixture) -> str:
    """Two trainers from one seed train identically, dropout masks included."""
    options = f.option_prefixes()[-1]
    first, second = f.snapshot(options, 0), f.snapshot(options, 1)
    with_masks = f" with {', '.join(options)} {RATE}" if options else ""
    fix = ("draw every random number (initial state, dropout masks) from TrainerConfig.seed, "
           "never from an unseeded or shared generator")
    if not np.allclose(first.outputs, second.outputs, rtol=1e-6, atol=1e-7):
        raise CheckFailed("two trainers built from the same weights evaluate differently", fix)
    if not np.allclose(first.losses, second.losses, rtol=1e-6, atol=1e-7) or not _same(
            first.trained, second.trained):
        raise CheckFailed(f"two trainers from the same seed{with_masks} trained differently: "
                          f"losses {_floats(first.losses)} vs {_floats(second.losses)}", fix)
    return f"{TRAIN_STEPS} identical steps{with_masks}"


def gradients(f: CellFixture) -> str:
    """Backprop reaches every weight and the first input step, and agrees with finite
    differences of the cell's own outputs."""
    details = []
    if f.backend.probe_cell is not None:
        details.append(_probe_gradients(f))
    trainer = f.last_step_trainer()
    if hasattr(trainer, "input_gradient"):
        x = f.inputs
        grad = trainer.input_gradient(x, np.zeros((len(x), OUTPUT_SIZE), np.float32))
        _require_shape("trainer.input_gradient()", np.asarray(grad), x.shape)
        if not np.abs(grad[:, 0]).max() > 0:
            raise CheckFailed("trainer.input_gradient() is zero at the first input step with "
                              "a last-step read-out", "keep the whole recurrence in autograd")
        details.append("trainer input_gradient reaches step 0")
    if not details:
        raise CheckSkipped(f"backend {f.backend.name!r} has neither probe_cell nor a "
                           "trainer input_gradient")
    return "; ".join(details)


def _probe_gradients(f: CellFixture) -> str:
    weights = f.weights()
    # Every output of a larger sample weighs in: a relu unit (IndRNN) is silent on some
    # inputs, which must not pass for a weight left out of autograd. The first input step
    # is asked of the last output alone, below.
    rng = np.random.default_rng(SEED + 3)
    shape = (REACH_BATCH, REACH_LENGTH)
    probe = f.probe(weights, rng.normal(size=(*shape, INPUT_SIZE)).astype(np.float32),
                    rng.normal(size=(*shape, HIDDEN)).astype(np.float32))
    if set(probe.weight_grads) != set(weights):
        raise CheckFailed(f"the probe returned gradients for {sorted(probe.weight_grads)}, "
                          f"the weights are {sorted(weights)}",
                          "key weight_grads by the canonical weight names")
    silent = []
    for name, value in weights.items():
        _require_shape(f"d {name}", probe.weight_grads[name], value.shape)
        zero = int(np.count_nonzero(probe.weight_grads[name] == 0))
        if zero:
            silent.append(f"{name} ({zero} of {value.size} entries)")
    if silent:
        raise CheckFailed(f"no gradient reaches weight {', '.join(silent)}",
                          "use every canonical weight in the forward pass, inside autograd "
                          "(no .detach(), .data, numpy round-trips or stop_gradient)")
    last_only = np.zeros_like(f.cotangent)
    last_only[:, -1] = f.cotangent[:, -1]
    if not np.abs(f.probe(weights, f.inputs, last_only).input_grad[:, 0]).max() > 0:
        raise CheckFailed("no gradient reaches the first input step from the last output",
                          "carry the state through autograd from step to step")
    arrays = {**weights, "inputs": f.inputs}
    rng = np.random.default_rng(SEED + 2)
    directions = {name: rng.normal(size=value.shape).astype(np.float32)
                  for name, value in arrays.items()}
    if _directional_mismatches(f, arrays, directions):
        wrong = [m for name in arrays
                 for m in _directional_mismatches(f, arrays, {name: directions[name]})]
        raise CheckFailed(f"gradients disagree with the outputs along a random direction "
                          f"({'; '.join(wrong) or 'only along all weights together'})",
                          "compute the forward pass only with differentiable framework "
                          "operations (no .detach(), .data, stop_gradient or custom "
                          "backward that changes the derivative), and export each weight's "
                          "gradient in its canonical layout")
    return (f"gradients reach every weight ({len(weights)}) and input step 0; finite "
            "differences agree")


def _directional_mismatches(f: CellFixture, arrays: Weights, directions: Weights) -> list[str]:
    """Backprop's derivative of the probe loss along ``directions`` (moving those arrays of
    ``arrays``, the weights and ``inputs``) against a central difference; [] if they agree."""
    grads = f.probe({n: v for n, v in arrays.items() if n != "inputs"}, arrays["inputs"],
                    f.cotangent)
    backprop = sum(
        float(np.sum(np.asarray(grads.input_grad if name == "inputs"
                                else grads.weight_grads[name], np.float64) * direction))
        for name, direction in directions.items()
    )

    def loss(step: float) -> float:
        moved = {name: (arrays[name] + np.float32(step) * directions[name]).astype(np.float32)
                 if name in directions else value for name, value in arrays.items()}
        weights = {n: v for n, v in moved.items() if n != "inputs"}
        return weighted_sum(f.probe(weights, moved["inputs"], f.cotangent).outputs,
                            f.cotangent)

    numeric = central_difference(loss, PROBE_STEP)
    if directional_derivatives_agree(backprop, numeric):
        return []
    return [f"d {'/'.join(directions)}: {backprop:.4g} by backprop, {numeric:.4g} by finite "
            "differences"]


def roundtrip(f: CellFixture) -> str:
    """Weights go in and come out in the canonical layout, before and after training."""
    snap = f.snapshot()
    _require_same_layout(snap.loaded, snap.exported, "export_weights() after loading")
    if not _same(snap.loaded, snap.exported):
        raise CheckFailed("export_weights() does not return the weights just loaded",
                          "load and export with the same canonical names, transposes and "
                          "gate order (see harness.canonical)")
    _require_same_layout(snap.loaded, snap.trained, "export_weights() after training")
    if _same(snap.exported, snap.trained, exact=True):
        raise CheckFailed("export_weights() did not change after training",
                          "export the live, trained parameters, not a copy made at loading")
    reloaded = f.build(weights=snap.trained).export_weights()
    if not _same(snap.trained, reloaded):
        raise CheckFailed("trained weights exported and loaded into a new trainer come back "
                          "different", "make load_canonical the exact inverse of "
                          "export_canonical")
    return f"{', '.join(sorted(snap.loaded))} round-trip"


def options(f: CellFixture) -> str:
    """Each declared dropout option acts in training only, recurrent dropout only on the
    state entering the recurrent product. An undeclared one never reaches the cell: bench
    refuses it before building anything."""
    details = [f"{name} not declared (bench refuses it)" for name in STANDARD_OPTIONS
               if name not in f.cell.options]
    prefixes = f.option_prefixes()
    base = f.snapshot()
    for before, after in pairwise(prefixes):
        (name,) = set(after) - set(before)
        previous, current = f.snapshot(before), f.snapshot(after)
        if not np.allclose(current.outputs, base.outputs, rtol=1e-5, atol=1e-6):
            raise CheckFailed(f"{name}={RATE} changed evaluate() outputs",
                              "apply dropout in training mode only")
        if math.isclose(current.losses[0], previous.losses[0], rel_tol=1e-6, abs_tol=1e-9):
            raise CheckFailed(f"{name}={RATE} left the training loss unchanged "
                              f"({previous.losses[0]:.6g})",
                              f"apply {name} in training mode, or remove it from "
                              "Cell.options so that bench refuses it")
        details.append(f"{name} honoured")
    if "recurrent_dropout" in f.cell.options:
        details.append(_recurrent_dropout_spares_the_first_step(f))
    return ", ".join(details)


def _recurrent_dropout_spares_the_first_step(f: CellFixture) -> str:
    """From the zero state, recurrent dropout has nothing to mask at the first step, so a
    one-step sequence trains on the loss it evaluates to. A mask on the state a step outputs
    and carries on (``h = dropout(h)``) changes it."""
    trainer = f.build(options={"recurrent_dropout": RATE})
    inputs, targets = f.inputs[:, :1], f.targets[:, :1]
    evaluated, _ = trainer.evaluate(inputs, targets)
    trained = trainer.train_step(inputs, targets).loss
    if not math.isclose(trained, evaluated, rel_tol=1e-5, abs_tol=1e-7):
        raise CheckFailed(f"recurrent_dropout={RATE} changed the loss of a one-step sequence "
                          f"from the zero state ({evaluated:.6g} evaluated, {trained:.6g} in "
                          "training): it masks the state a step outputs or carries on",
                          "multiply the previous state by the mask only where it enters the "
                          "recurrent product, and carry the undropped state on (Keras's rule)")
    return "recurrent_dropout spares the state carried on"


def record(f: CellFixture) -> str:
    """A tiny ``bench run`` of the cell gives a complete, JSON-serialisable record."""
    definition = f.registry.tasks.get(f.task)
    if definition is None:
        raise CheckSkipped(f"task {f.task!r} is not registered (is the tasks plugin left "
                           "out by BENCH_PLUGINS?)")
    params = {"length": LENGTH + 3} if any(p.name == "length" for p in definition.parameters) \
        else {}
    spec = RunSpec(task=f.task, cell=f.cell.qualified_name, task_params=params, hidden=HIDDEN,
                   batch=BATCH + 1, steps=3, eval_every=2, eval_size=8, warmup_steps=1,
                   device="cpu", seed=SEED, stop_when_solved=False, kernel=f.kernel)
    result = execute(spec, f.registry)
    if result.status != "ok":
        error = (result.error or "").strip().splitlines()
        raise CheckFailed(f"the run ended {result.status}: {error[0] if error else ''}",
                          "run `bench run --task <task> --cells <cell>` with BENCH_DEBUG=1 "
                          "and fix the first error")
    text = json.dumps(result.to_dict())
    if RunRecord.from_dict(json.loads(text)).to_dict() != json.loads(text):
        raise CheckFailed("the record does not survive a JSON round-trip",
                          "return plain Python numbers and strings from the trainer")
    acc, speed = result.accuracy, result.speed
    if acc is None or acc.final_loss is None or not math.isfinite(acc.final_loss) \
            or speed is None or speed.timed_steps < 1:
        raise CheckFailed("the record lacks a finite final loss or timed steps",
                          "return finite float losses from train_step and evaluate")
    settings = "".join(f" {k}={v}" for k, v in params.items())
    return f"{spec.task}{settings}: {result.steps_done} steps, loss {acc.final_loss:.3g}"


def reference(f: CellFixture) -> str:
    """Outputs, final state and every gradient match the reference equations."""
    if f.reference is None:
        raise CheckSkipped(f"no reference for {f.cell.name!r} (register the cell with "
                           "reference=, its numpy equations, to check them)")
    weights = f.weights()
    cotangent = f.cotangent[:2]
    expected = reference_probe(f.reference, weights, f.inputs[:2], cotangent)
    differences = compare(expected, f.probe(weights, f.inputs[:2], cotangent))
    bad = [d for d in differences if not d.ok]
    equations = f"{f.reference.__module__}.{f.reference.__qualname__}"
    if bad:
        listed = ", ".join(
            f"{d.quantity} ({d.detail})" if math.isinf(d.max_abs_diff) else
            f"{d.quantity} (max |diff| {d.max_abs_diff:.2g} > {d.tolerance:.2g}"
            f"{', ' + d.detail if d.detail else ''})" for d in bad)
        fix = ("the forward pass is right but not its gradients: keep every operation in "
               "autograd (no .detach(), .data or stop_gradient) and export each gradient in "
               "the canonical layout" if all(d.quantity.startswith("d ") for d in bad) else
               "follow those equations in the canonical layout of harness.canonical: gate "
               "order, which bias, transposed kernels")
        raise CheckFailed(f"differs from {equations} in {listed}", fix)
    return f"matches {equations} ({len(differences)} quantities)"


PROTOCOL_LR, PROTOCOL_DECAY = 0.1, 0.5


def protocol(f: CellFixture) -> str:
    """The training protocol of TrainerConfig reaches the update: clipping by value,
    decoupled weight decay and a step schedule; ``init="framework"`` where the cell declares
    it (``Cell.framework_init``)."""
    config = replace(f.config(), optimizer="sgd", lr=PROTOCOL_LR, clip_norm=None,
                     clip_value=1e-30, weight_decay=PROTOCOL_DECAY,
                     lr_schedule=LrSchedule.parse("step:1:0.5"))
    trainer = f.backend.build_trainer(config)
    weights = [trainer.export_weights()]
    for _ in range(2):
        trainer.train_step(f.inputs, f.targets)
        weights.append(trainer.export_weights())
    for step, factor in enumerate((1.0, 0.5)):
        shrink = 1.0 - PROTOCOL_LR * factor * PROTOCOL_DECAY
        if not _same({n: v * shrink for n, v in weights[step].items()}, weights[step + 1]):
            raise CheckFailed(
                f"SGD (lr {PROTOCOL_LR}) with clip_value 1e-30 (no gradient left), "
                f"weight_decay {PROTOCOL_DECAY} and lr_schedule step:1:0.5 should multiply "
                f"every weight by {shrink:g} at update {step + 1}; it did not",
                "clip each gradient element to [-clip_value, clip_value]; before each update "
                "multiply every weight by 1 - lr_t * weight_decay, lr_t from "
                "TrainerConfig.lr_schedule at the updates applied so far (harness.trainer)")
    details = "clip by value, weight decay and step schedule reach the update"
    if not f.cell.framework_init:
        return f"{details}; no framework init declared"
    drawn = [f.backend.build_trainer(replace(f.config(), init="framework")).export_weights()
             for _ in range(2)]
    if not _same(drawn[0], drawn[1], exact=True):
        raise CheckFailed("two trainers with init 'framework' and one seed drew different "
                          "weights", "seed the framework's own draws from TrainerConfig.seed")
    if _same(drawn[0], f.snapshot().loaded):
        raise CheckFailed("with init 'framework' the trainer loaded the canonical weights",
                          "keep the weights the framework's layers drew when TrainerConfig."
                          "init is 'framework'")
    return f"{details}; init framework seeded"


CELL_CHECKS = (
    Check("construct", construct, "build the cell from TrainerConfig", prerequisite=True),
    Check("forward", forward, "return (outputs, state) of the documented shapes"),
    Check("deterministic", deterministic, "derive all randomness from the seed"),
    Check("gradients", gradients, "keep the forward pass differentiable"),
    Check("roundtrip", roundtrip, "load and export canonical weights"),
    Check("options", options, "accept the options Cell.options declares"),
    Check("record", record, "make the trainer run a whole bench run"),
    Check("reference", reference, "probe the cell as Backend.probe_cell documents"),
    Check("protocol", protocol, "follow every protocol field of TrainerConfig"),
)


def _require_layout(weights: Weights, source: str) -> None:
    """An input kernel ``W`` [input, k*H] always; a recurrent kernel ``U``, where the cell
    has one (a cell whose recurrence is diagonal or parametrised, such as IndRNN's ``u`` or
    expRNN's ``skew``, names its own), [H, k*H] with the same columns."""
    fix = ("return numpy float32 arrays in the canonical layout: W [input, gates*H], "
           "U [H, gates*H] where the cell has a recurrent kernel, biases [gates*H] "
           "(harness.canonical)")
    if not isinstance(weights, dict) or "W" not in weights:
        raise CheckFailed(f"{source} returned no W kernel", fix)
    bad = [n for n, v in weights.items()
           if not isinstance(v, np.ndarray) or v.dtype != np.float32]
    if bad:
        raise CheckFailed(f"{source} returned non-float32 arrays for {', '.join(bad)}", fix)
    w = weights["W"].shape
    u = weights["U"].shape if "U" in weights else (HIDDEN,) + w[1:]
    if len(w) != 2 or len(u) != 2 or w[0] != INPUT_SIZE or u[0] != HIDDEN or w[1] != u[1] \
            or w[1] % HIDDEN:
        shown = f"W {w} and U {u}" if "U" in weights else f"W {w}"
        raise CheckFailed(f"{source} returned {shown} for input {INPUT_SIZE}, "
                          f"hidden {HIDDEN}", fix)


def _require_shape(what: str, value: np.ndarray, expected: tuple[int, ...]) -> None:
    shape = tuple(np.shape(value))
    if shape != tuple(expected):
        raise CheckFailed(f"{what}: shape {shape}, expected {tuple(expected)}",
                          "follow the shapes documented in harness.trainer (Trainer.evaluate, "
                          "CellProbe) and in the backend's cell protocol (e.g. "
                          "bench_torch.cells)")
    if not np.isfinite(value).all():
        raise CheckFailed(f"{what}: values not finite", "check the forward pass for overflow")


def _require_same_layout(expected: Weights, actual: Weights, what: str) -> None:
    if set(actual) != set(expected) or any(
            np.shape(actual[n]) != np.shape(expected[n]) for n in expected):
        shapes = {n: tuple(np.shape(v)) for n, v in actual.items()}
        raise CheckFailed(f"{what} gave {shapes}, expected "
                          f"{ {n: v.shape for n, v in expected.items()} }",
                          "export the same names and shapes the initializer creates")


def _same(a: Weights, b: Weights, exact: bool = False) -> bool:
    if set(a) != set(b) or any(np.shape(a[n]) != np.shape(b[n]) for n in a):
        return False
    if exact:
        return all(np.array_equal(a[n], b[n]) for n in a)
    return all(np.allclose(a[n], b[n], rtol=1e-6, atol=1e-7) for n in a)


def _floats(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.6g}" for v in values)
