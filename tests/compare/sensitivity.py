"""Measure the speed check on this machine: its false-positive rate on identical code and the
smallest slowdown it detects. Results in results/README.md came from

    python -m tests.compare.sensitivity OUT_DIR

It times ``torch:planted`` (torch:lstm, tests/compare/planted.py) on the toy task of the
comparison tests. With ``--step-ms 0`` the steps are the tiny model's own work, and the
current side sleeps a share of the baseline's median step in every step. On a busy machine
waking from that sleep costs extra, so the planted slowdown is larger than its share; with
``--step-ms N`` both sides sleep N ms per step and the current side N x (1 + share), which
plants exactly that share. Each repeat compares the two sides with the default rules, one
after the other and interleaved (A B B A). A share of 0 is identical code.
"""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import harness.plugins
from harness.cli import main
from harness.compare import Rules, compare
from harness.compare.matching import load_side
from harness.records import load_results
from tests.compare.planted import Planted
from tests.helpers import make_host

RUN = ["run", "--task", "previous", "--cells", "torch:planted", "--length", "8", "--hidden",
       "16", "--batch", "16", "--eval-size", "64", "--eval-every", "1000", "--lr", "0.01",
       "--device", "cpu", "--no-early-stop", "--json"]


class Bench:
    def __init__(self, out: Path, steps: int, threads: int):
        self.out = out
        self.steps = steps
        self.threads = threads
        self.host = make_host("tasks", "torch")
        harness.plugins._default_host = self.host
        self.lstm = self.host.registry.cells[("torch", "lstm")]
        self.count = 0

    def run(self, delay_s: float) -> Path:
        if "planted" in self.host.plugins:
            self.host.unregister("planted")
        self.host.register(Planted(self.lstm, delay_s=delay_s), "planted")
        self.count += 1
        out = self.out / f"run-{self.count}"
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            main([*RUN, "--steps", str(self.steps), "--threads", str(self.threads),
                  "--out", str(out)])
        return out

    def verdict(self, base: list[Path], head: list[Path], interleaved: bool) -> dict:
        old = [r for path in base for r in load_side(path, "baseline")]
        new = [r for path in head for r in load_side(path, "current")]
        comparison = compare(old, new, Rules(), interleaved=interleaved)
        (speed,) = [c for c in comparison.runs[0].changes if c.metric == "ms/step"]
        return {"verdict": speed.verdict, "ratio": speed.ratio, "p_value": speed.p_value,
                "judged": speed.gating, "note": speed.note}


def measure(bench: Bench, shares: list[float], repeats: int, step_s: float) -> list[dict]:
    bench.run(step_s)  # the first run in a process pays one-time costs beyond its warm-up
    rows = []
    for share in shares:
        for repeat in range(repeats):
            base = bench.run(step_s)
            median_s = load_results(base).records[0].speed.step_ms_median / 1000
            slow_s = step_s * (1 + share) if step_s else share * median_s
            sequential = bench.verdict([base], [bench.run(slow_s)], interleaved=False)
            a1, b1 = bench.run(step_s), bench.run(slow_s)
            b2, a2 = bench.run(slow_s), bench.run(step_s)
            interleaved = bench.verdict([a1, a2], [b1, b2], interleaved=True)
            rows.append({"share": share, "repeat": repeat, "sequential": sequential,
                         "interleaved": interleaved})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def summary(rows: list[dict]) -> list[str]:
    lines = []
    for share in sorted({r["share"] for r in rows}):
        for mode in ("sequential", "interleaved"):
            group = [r[mode] for r in rows if r["share"] == share]
            flagged = sum(g["verdict"] == "regression" and g["judged"] for g in group)
            unjudged = sum(not g["judged"] for g in group)
            ratios = ", ".join(f"{g['ratio']:.2f}" for g in group)
            lines.append(f"slowdown {share:4.0%} {mode:11s}: {flagged}/{len(group)} flagged "
                         f"as regressions, {unjudged} not judged (load) (ratios {ratios})")
    return lines


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory for the records")
    parser.add_argument("--shares", default="0,0.05,0.1,0.15,0.2,0.3,0.5",
                        help="planted slowdowns, as shares of the median step")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100, help="timed steps per run")
    parser.add_argument("--step-ms", type=float, default=0.0,
                        help="sleep this long in every step on both sides (default: 0)")
    parser.add_argument("--threads", type=int, default=1, help="threads per run (bench run "
                        "--threads)")
    args = parser.parse_args(argv)
    rows = measure(Bench(args.out, args.steps, args.threads),
                   [float(s) for s in args.shares.split(",")],
                   args.repeats, args.step_ms / 1000)
    print("\n".join(summary(rows)))


if __name__ == "__main__":
    main_()
