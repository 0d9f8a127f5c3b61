"""Measure what the main job's defaults give: learning rate × steps per length, on copy.

    python scripts/calibrate_main_job.py [--out calibration-results] [--workers 2]

Runs ``bench run --task copy --cells torch:lstm,torch:lnrnn --lengths 5,10,20,40`` once per
learning rate, for the longest step count with an evaluation every 100 steps. A run is a
pure function of its spec and nothing in training depends on the total step count, so the
evaluation at step N of a 1000-step run is the end of an N-step run: one run per length and
rate gives every step count. Prints a Markdown table per (rate, steps): each cell's headline
and memory-test verdict per length, and the training seconds the lengths cost together.
Records stay in --out, so an interrupted calibration resumes (docs/memory.md has the table).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from harness.memory import remembers
from harness.records import RunRecord, load_results

CELLS = "torch:lstm,torch:lnrnn"
LENGTHS = (5, 10, 20, 40)
RATES = (0.01, 0.003, 0.001)  # the most promising first: an interrupted run still informs
STEPS = 1000
CHECKPOINTS = (250, 500, 1000)
EVAL_EVERY = 50


def run_grid(out: Path, workers: int, rates: list[float]) -> None:
    for lr in rates:
        subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", "--task", "copy", "--cells", CELLS,
             "--lengths", ",".join(map(str, LENGTHS)), "--lr", str(lr), "--steps", str(STEPS),
             "--eval-every", str(EVAL_EVERY), "--device", "cpu", "--executor", "process",
             "--workers", str(workers), "--out", str(out)],
            check=True, stdout=subprocess.DEVNULL)


def at_step(record: RunRecord, step: int) -> tuple[str, float]:
    """Verdict and training seconds of the run as if it had stopped at ``step``."""
    acc = record.accuracy
    if acc.solved and acc.steps_to_solve <= step:
        return "solved", next(p.seconds for p in acc.curve if p.step == acc.steps_to_solve)
    point = max((p for p in acc.curve if p.step <= step), key=lambda p: p.step)
    mark = "*" if remembers(point.p_value, point.headline - acc.chance) else ""
    return f"{point.headline:.3f}{mark}", point.seconds


def table(records: list[RunRecord]) -> str:
    by_setting: dict[tuple, dict[int, RunRecord]] = defaultdict(dict)
    for r in records:
        by_setting[(r.spec.lr, r.spec.cell)][r.spec.task_params["length"]] = r
    lines = ["| lr | steps/length | cell | " + " | ".join(f"T={t}" for t in LENGTHS)
             + " | train s (all T) |", "|---" * (4 + len(LENGTHS)) + "|"]
    for (lr, cell), runs in sorted(by_setting.items()):
        for step in CHECKPOINTS:
            cells = [at_step(runs[t], step) if t in runs else ("-", 0.0) for t in LENGTHS]
            seconds = sum(s for _, s in cells)
            lines.append(f"| {lr:g} | {step} | {cell} | "
                         + " | ".join(v for v, _ in cells) + f" | {seconds:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("calibration-results"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rates", type=lambda raw: [float(r) for r in raw.split(",")],
                        default=list(RATES), help="learning rates to run (default: all)")
    parser.add_argument("--table-only", action="store_true",
                        help="only print the table of the records already in --out")
    args = parser.parse_args()
    if not args.table_only:
        run_grid(args.out, args.workers, args.rates)
    print(table(load_results(args.out).records))
    print("\n* remembers (p < 0.01, margin >= 0.02 above chance 0.125); "
          "train s: training time of the four lengths, evaluation excluded")


if __name__ == "__main__":
    main()
