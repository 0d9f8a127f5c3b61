"""How many threads a run should use, measured: the table behind bench's thread policy.

    python -m tests.benchmarks.threads_table [--rounds 1] [--steps 10] [--neighbours 0,1,2]
        [--backends torch,keras] [--cells lstm,lnrnn] [--sizes standard,tiny]

For each load condition (quiet, then one and two busy neighbour processes that spin on a
core, as other jobs on a CI runner or workstation do) and each thread setting (1 and 2, each
also with ``OMP_WAIT_POLICY=PASSIVE`` for torch, and bench's default: ``auto`` threads, the
framework's own wait policy), a fresh process times
training steps of torch:lstm, torch:lnrnn, keras:lstm and keras:lnrnn at the standard size
(copy T=100, batch 128, 128 units) and a tiny one (T=10, batch 16, 16 units). A fresh
process per setting and size, because TensorFlow and OpenMP take their thread counts and
wait policy only at start. Prints a Markdown table (row by row, as each condition ends) of
median ms/step of each process, then the median over ``--rounds`` (rounds alternate the
settings' order; the slowest and fastest round of each setting go to stderr), and each cell's
default ÷ best fixed setting. One round takes about 6 minutes on a quiet 2-core machine.

The median over rounds, not the best: with more runnable threads than cores, one setting can
be bimodal (two sleeping torch threads next to two busy neighbours read 121 ms in one process
and 268-307 ms in four others), and the best round then shows a speed a user seldom gets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from tests.benchmarks.conftest import loadavg

SIZES = {
    "standard": dict(task_params={"length": 100}, hidden=128, batch=128),
    "tiny": dict(task_params={"length": 10}, hidden=16, batch=16),
}
TINY_STEPS_PER_STANDARD = 20
"""A tiny step takes 2-6 ms, within a scheduler time slice: with more runnable processes
than cores, 10 of them measure the scheduler, so the tiny size times 20x as many steps
(about as long in all as the standard size's)."""
CELLS = {"torch": ["lstm", "lnrnn"], "keras": ["lstm", "lnrnn"]}
SETTINGS = {"torch": ["1", "1 passive", "2", "2 passive", "auto"], "keras": ["1", "2", "auto"]}
FIXED = ("1", "1 passive", "2", "2 passive")
NEIGHBOURS = (0, 1, 2)
WARMUP = 3


def measure(backend: str, setting: str, size: str, steps: int, cells: list[str]) -> dict:
    """In the child process: ms/step of every cell at ``size`` with ``setting``'s threads.

    One process per size, as bench's own policy may give a small step fewer threads and
    TensorFlow takes its count only once per process."""
    from harness.runner import apply_threads, plan
    from harness.spec import RunSpec
    from harness.threads import busy_now, decide
    from tests.benchmarks.conftest import STANDARD, harness_trainer, training_step
    from tests.helpers import make_host

    registry = make_host().registry
    busy = busy_now()
    framework = registry.backend(backend)
    spec = {**STANDARD, **SIZES[size]}
    policy = decide(None if setting == "auto" else int(setting.split()[0]), busy=busy,
                    spread_when_busy=framework.spread_when_busy
                    ).for_step(spec["batch"], spec["hidden"])
    environment = apply_threads(framework, policy, busy)
    times = {}
    for cell in (c for c in CELLS[backend] if c in cells):
        plan(RunSpec(cell=f"{backend}:{cell}", **spec), registry)
        _, trainer, batches = harness_trainer(registry, f"{backend}:{cell}", **SIZES[size])
        step = training_step(trainer, batches)
        samples = []
        count = steps * (TINY_STEPS_PER_STANDARD if size == "tiny" else 1)
        for index in range(WARMUP + count):
            start = time.perf_counter()
            step()
            if index >= WARMUP:
                samples.append(time.perf_counter() - start)
        times[f"{cell} {size}"] = sorted(samples)[len(samples) // 2] * 1e3
    picked = f"{environment['threads']} ({policy.summary.removeprefix('auto: ')})"
    return {"times": times, "picked": dict.fromkeys(times, picked)}


def _child(backend: str, setting: str, steps: int, cells: str, sizes: list[str]) -> dict:
    """Each of ``sizes`` in a fresh process."""
    env = {**os.environ, "BENCH_PLUGINS": f"tasks,{backend}"}
    env.pop("OMP_NUM_THREADS", None)
    env.pop("OMP_WAIT_POLICY", None)
    if setting.endswith("passive"):
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    merged: dict[str, dict] = {"times": {}, "picked": {}}
    for size in sizes:
        out = subprocess.run([sys.executable, "-m", "tests.benchmarks.threads_table",
                              "--child", backend, setting, size, "--steps", str(steps),
                              "--cells", cells],
                             capture_output=True, text=True, env=env, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        for part in merged:
            merged[part].update(result[part])
    return merged



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "SETTING", "SIZE"))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--neighbours", default="0,1,2")
    parser.add_argument("--backends", default=",".join(CELLS))
    parser.add_argument("--cells", default=",".join(dict.fromkeys(sum(CELLS.values(), []))))
    parser.add_argument("--sizes", default=",".join(SIZES))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child, args.steps, args.cells.split(","))))
        return
    print(_markdown([]), flush=True)
    for neighbours in (int(n) for n in args.neighbours.split(",")):
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(neighbours)]
        try:
            time.sleep(1.0)
            load = loadavg()
            for backend in args.backends.split(","):
                results: dict[str, list[dict]] = {s: [] for s in SETTINGS[backend]}
                for round_ in range(args.rounds):
                    order = SETTINGS[backend][round_ % 2::] + SETTINGS[backend][:round_ % 2]
                    for setting in order:
                        results[setting].append(_child(backend, setting, args.steps,
                                                       args.cells, args.sizes.split(",")))
                for row in _rows(backend, neighbours, load, results):
                    print("| " + " | ".join(row) + " |", flush=True)
        finally:
            for spinner in spinners:
                spinner.kill()
                spinner.wait()
        print(f"{neighbours} neighbours done (loadavg {loadavg()})", file=sys.stderr)


def _rows(backend: str, neighbours: int, load: str, results: dict[str, list[dict]]) -> list:
    rows = []
    for key in results[next(iter(results))][0]["times"]:
        rounds = {s: sorted(r["times"][key] for r in runs) for s, runs in results.items()}
        typical = {s: statistics.median(times) for s, times in rounds.items()}
        fixed = min(v for s, v in typical.items() if s in FIXED)
        rows.append([f"{backend}:{key}", str(neighbours), load,
                     *(f"{typical.get(s, float('nan')):.1f}" for s in SETTINGS["torch"]),
                     results["auto"][0]["picked"][key],
                     f"{typical['auto'] / fixed:.2f}"])
        spread = ", ".join(f"{s} {t[0]:.1f}-{t[-1]:.1f}" for s, t in rounds.items())
        print(f"{backend}:{key}, {neighbours} neighbours, rounds: {spread}", file=sys.stderr)
    return rows


def _markdown(rows: list[list[str]]) -> str:
    """The table's header, then ``rows`` (the rows are printed as each condition ends)."""
    header = ["cell size", "busy neighbours", "loadavg", "1 thread", "1, passive",
              "2 threads", "2, passive", "auto (bench)", "auto picked", "auto ÷ best fixed"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
