"""Do the backends compute the same cells? (the library behind ``bench parity`` and the
conformance kit)

For each cell that two or more available backends provide, every backend's ``probe_cell``
runs the cell once forward and backward on the same canonical weights, inputs and
cotangent, all drawn from one seeded numpy generator; the first backend's results are the
reference and each other backend's are compared with them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from harness.canonical import Weights, probe_weights
from harness.errors import BenchError, UnknownNameError, UsageError
from harness.formatting import plural
from harness.registry import Cell, Registry
from harness.trainer import CellProbe

INPUT_SIZE = 3
ATOL = 1e-5
RTOL = 1e-4
TOLERANCE = f"|difference| <= {ATOL:g} + {RTOL:g} x max|reference| (float32)"
STATE_NAMES = ("h", "c")


@dataclass(frozen=True)
class Difference:
    quantity: str
    max_abs_diff: float
    """``inf`` when the shapes or the weight names differ, or a value is not finite."""
    scale: float
    """Largest magnitude in the reference, which the relative tolerance scales."""
    detail: str = ""
    """What a cell's author needs to find the fault: why the difference is infinite ("missing",
    "shape (2, 5, 8), the reference's (2, 5, 16)", "not finite"), or for a sequence over the
    tolerance, the first time step where it is ("from step 3": in the outputs, step 0 points
    at the cell's equations, a later one at how it carries its state)."""

    @property
    def tolerance(self) -> float:
        return ATOL + RTOL * self.scale

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


@dataclass(frozen=True)
class CellParity:
    cell: str
    reference: str
    """The backend compared against."""
    backend: str
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.differences)

    def to_dict(self) -> dict:
        return {
            "cell": self.cell, "reference": self.reference, "backend": self.backend,
            "ok": self.ok,
            "differences": [
                {**asdict(d), "max_abs_diff": _json_number(d.max_abs_diff),
                 "scale": _json_number(d.scale),
                 "tolerance": d.tolerance, "ok": d.ok}
                for d in self.differences
            ],
        }


def parity_answer(results: Sequence[CellParity]) -> str:
    """What ``bench parity`` found, in one sentence: which backends agree on how many cells,
    and the closest call; or the cells where they do not, each with its worst quantity."""
    failing = [r for r in results if not r.ok]
    if failing:
        said = []
        for result in failing:
            worst = max(result.differences, key=_share_of_tolerance)
            how = (f": {worst.detail}" if math.isinf(worst.max_abs_diff)
                   else f" differs by {worst.max_abs_diff:.3g}, over the {worst.tolerance:.3g} "
                   f"allowed{', ' + worst.detail if worst.detail else ''}")
            said.append(f"{result.cell} ({result.backend} against {result.reference}: "
                        f"{worst.quantity}{how})")
        return (f"The backends disagree on {len(failing)} of {plural(len(results), 'cell')}: "
                f"{'; '.join(said)}.")
    pairs = sorted({" and ".join(sorted((r.backend, r.reference))) for r in results})
    closest, cell = max(((d, r.cell) for r in results for d in r.differences),
                        key=lambda found: _share_of_tolerance(found[0]))
    quantities = sum(len(r.differences) for r in results)
    return (f"{' and '.join(pairs).capitalize()} agree on {plural(len(results), 'cell')} "
            f"({quantities} outputs, states and gradients) within float32 tolerance; the "
            f"closest: {cell} {closest.quantity}, {closest.max_abs_diff:.3g} of the "
            f"{closest.tolerance:.3g} allowed.")


def _share_of_tolerance(difference: Difference) -> float:
    return difference.max_abs_diff / difference.tolerance


def check_parity(registry: Registry, names: Sequence[str] | None, length: int = 20,
                 batch: int = 4, hidden: int = 16, seed: int = 0) -> list[CellParity]:
    """Compare every backend's probe of each named cell with the first backend's."""
    for flag, value in (("length", length), ("batch", batch), ("hidden", hidden)):
        if value < 1:
            raise UsageError(f"--{flag} must be a positive integer, got {value}")
    if seed < 0:
        raise UsageError(f"--seed must be >= 0, got {seed}")
    results = []
    for name, cells in comparable_cells(registry, names).items():
        rng = np.random.default_rng(seed)
        weights = probe_weights(cells[0].initializer, INPUT_SIZE, hidden, rng)
        inputs = rng.normal(size=(batch, length, INPUT_SIZE)).astype(np.float32)
        cotangent = rng.normal(size=(batch, length, hidden)).astype(np.float32)
        probes = [_probe(registry, cell, weights, inputs, cotangent) for cell in cells]
        results.extend(
            CellParity(name, cells[0].backend, cell.backend, compare(probes[0], probe))
            for cell, probe in zip(cells[1:], probes[1:], strict=True)
        )
    return results


def comparable_cells(registry: Registry, names: Sequence[str] | None) -> dict[str, list[Cell]]:
    """Cell name -> its cells in the available backends that can probe cells (two or more)."""
    by_name: dict[str, list[Cell]] = {}
    for cell in registry.cells.values():
        backend = registry.backends[cell.backend]
        if backend.available and backend.probe_cell is not None:
            by_name.setdefault(cell.name, []).append(cell)
    comparable = {name: cells for name, cells in by_name.items() if len(cells) > 1}
    if names is None:
        if not comparable:
            raise UsageError("no cell is provided by two or more available backends that can "
                             f"probe cells ({_probing_backends(registry)})")
        return comparable
    chosen = {}
    for raw in names:
        name = raw.strip()
        if not name:
            raise UsageError("empty cell name in --cells")
        if ":" in name:
            raise UsageError(f"--cells takes unqualified cell names such as lstm, got {name!r}")
        if name not in comparable:
            if name not in by_name:
                raise UnknownNameError("cell", name, {c.name for c in registry.cells.values()})
            only = by_name[name][0].backend
            raise UsageError(f"cell {name!r} is only in backend {only!r} here; parity needs it "
                             f"in two or more (such cells: {', '.join(comparable) or 'none'})")
        chosen[name] = comparable[name]
    return chosen


def _probing_backends(registry: Registry) -> str:
    """Which backends can take part, and why the others cannot: what to install, mostly."""
    probing = [b.name for b in registry.backends.values() if b.available and b.probe_cell]
    said = [f"backends that can here: {', '.join(probing) or 'none'}"]
    said += [f"{b.name} is unavailable: {b.reason.rstrip('.')}"
             for b in registry.backends.values() if not b.available]
    return "; ".join(said)


def compare(reference: CellProbe, other: CellProbe) -> list[Difference]:
    """Every quantity of ``other`` against ``reference``; a missing one never agrees."""
    states = range(max(len(reference.final_state), len(other.final_state)))
    names = [*reference.weight_grads,
             *(name for name in other.weight_grads if name not in reference.weight_grads)]
    return [
        _difference("outputs", reference.outputs, other.outputs),
        *(_difference(f"final {STATE_NAMES[i] if i < len(STATE_NAMES) else i}",
                      _item(reference.final_state, i), _item(other.final_state, i))
          for i in states),
        _difference("d inputs", reference.input_grad, other.input_grad),
        *(_difference(f"d {name}", reference.weight_grads.get(name),
                      other.weight_grads.get(name)) for name in names),
    ]


def _probe(registry: Registry, cell: Cell, weights: Weights, inputs: np.ndarray,
           cotangent: np.ndarray) -> CellProbe:
    probe = registry.backends[cell.backend].probe_cell
    try:
        return probe(cell, {k: v.copy() for k, v in weights.items()}, inputs, cotangent, {})
    except BenchError:
        raise
    except Exception as exc:  # a backend's bug is reported as a failed check, one line
        raise BenchError(f"backend {cell.backend!r} failed to probe cell {cell.name!r}: "
                         f"{type(exc).__name__}: {exc}") from exc


def _json_number(value: float) -> float | None:
    """JSON has no infinity: a difference that could not be measured is null."""
    return value if np.isfinite(value) else None


def _item(values: tuple[np.ndarray, ...], index: int) -> np.ndarray | None:
    return values[index] if index < len(values) else None


def _difference(quantity: str, reference: np.ndarray | None,
                other: np.ndarray | None) -> Difference:
    scale = 0.0 if reference is None else float(np.abs(reference).max(initial=0.0))
    if reference is None or other is None:
        return Difference(quantity, math.inf, scale,
                          f"missing from the {'reference' if reference is None else 'probe'}")
    if np.shape(reference) != np.shape(other):
        return Difference(quantity, math.inf, scale, f"shape {np.shape(other)}, the "
                          f"reference's {np.shape(reference)}")
    gap = np.abs(np.asarray(reference, np.float64) - np.asarray(other, np.float64))
    if not np.isfinite(gap).all():
        return Difference(quantity, math.inf, scale, "not finite")
    found = Difference(quantity, float(gap.max(initial=0.0)), scale)
    if found.ok or gap.ndim != 3:  # only [batch, time, features] has steps to name
        return found
    first = int(np.argmax((gap > found.tolerance).any(axis=(0, 2))))
    return replace(found, detail=f"from step {first}")
