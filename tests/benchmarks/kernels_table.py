"""bench's own recurrences (``--kernel compiled`` and ``--kernel bench``) against the
frameworks' kernels (issue 13), in one table: the benchmark the README's "Kernel paths"
quotes.

    python -m tests.benchmarks.kernels_table [--rounds 15] [--threads N] [--length 1000]
        [--allocator kept|default]

For each standard torch cell at the standard size (copy T=100, batch 128, 128 units): the
median training step of the three paths, timed alternately in one process (A B C A B C ...); the
step's matrix-multiply floor, its matrix products' FLOPs each divided by the rate this
machine reaches at that product's shapes, measured in the same process; the compiled path's
recurrence alone (the cell's forward and backward pass, in the same alternation), so that the
rest of the step shows, and the recurrence over its own products' floor (the kernel apart
from what every path shares), and what the step would take with the recurrence at that
floor and the rest unchanged, over the floor; and the peak memory of one training step at
T=``--length``, batch 128, for each path, the median of :data:`MEMORY_PROCESSES` fresh
processes (the rise of its peak resident set over a second step, the peak reset after the
first, on Linux: tracemalloc does not see torch's CPU allocations, and a fresh process keeps
one path's freed memory from serving the other; what the first step freed is given back to
the kernel before the second, :data:`PEAK_PROGRAM`).
The steps are timed with freed memory kept, as bench's runs do (``harness/allocator.py``;
``--allocator default`` for the C library's default, as passes before 30 November 21:22
were); the peak memory processes keep the default, so that a step's own need shows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from harness.allocator import DEFAULT, keep_freed_memory
from harness.catalogue import STANDARD_CELLS
from tests.benchmarks.conftest import (
    harness_trainer,
    interleaved_medians,
    loadavg,
    training_step,
)
from tests.helpers import make_host

PATHS = ("framework", "bench", "compiled")
"""The ``--kernel`` choices compared; the last is the one held to the floor."""
FAST = PATHS[-1]
FLOOR_TARGET = 1.3
"""Issue 13's target: each cell's bench step within 1.3x of its matrix-multiply floor."""


@dataclass(frozen=True)
class Product:
    """``count`` matrix products [m, k] x [k, n] in one training step."""

    m: int
    k: int
    n: int
    count: int

    @property
    def gflop(self) -> float:
        return 2 * self.m * self.k * self.n * self.count / 1e9


def recurrence_products(cell: str, batch: int, steps: int, input_size: int,
                        hidden: int) -> list[Product]:
    """The matrix products of the recurrence's forward and backward pass: per time step the
    recurrent product forward and the state's gradient through it backward; over the whole
    sequence the input projection and the input and recurrent weights' gradients. The
    gradient of the inputs themselves is not needed."""
    width = STANDARD_CELLS[cell].width * hidden
    rows = steps * batch
    return [
        Product(batch, hidden, width, steps),
        Product(batch, width, hidden, steps),
        Product(rows, input_size, width, 1),
        Product(input_size, rows, width, 1),
        Product(width, rows, hidden, 1),
    ]


def step_products(cell: str, batch: int, steps: int, input_size: int, hidden: int,
                  output_size: int) -> list[Product]:
    """The matrix products of one training step: the recurrence's and the read-out's
    (forward, its input's and its weight's gradient)."""
    rows = steps * batch
    return [*recurrence_products(cell, batch, steps, input_size, hidden),
            Product(rows, hidden, output_size, 2), Product(hidden, rows, output_size, 1)]


def gemm_gflops(product: Product, seconds: float = 0.2) -> float:
    """The rate of [m, k] x [k, n] on this machine, best of 5 timings of ``seconds`` each."""
    a, b = torch.randn(product.m, product.k), torch.randn(product.k, product.n)
    out = torch.empty(product.m, product.n)
    torch.mm(a, b, out=out)
    start = time.perf_counter()
    torch.mm(a, b, out=out)
    repeats = max(1, int(seconds / max(time.perf_counter() - start, 1e-6)))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b, out=out)
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * product.m * product.k * product.n / best / 1e9


def floor_ms(products: list[Product]) -> float:
    """The step's matrix-multiply floor: each product's FLOPs at its own measured rate."""
    return sum(p.gflop / gemm_gflops(p) for p in products) * 1e3


RECURRENCE = "recurrence alone"
"""The fast path's recurrence (the cell's forward and backward pass), timed beside the steps:
what the step takes beyond it (the read-out, the loss, clipping and the optimiser, the same on
every path) is work the floor counts little of."""


def recurrence_step(trainer, batches) -> Callable[[], object]:
    """The trainer's cell alone, forward and backward, on the first batch's inputs."""
    cell = trainer.model.cell
    x = torch.as_tensor(batches[0].inputs, dtype=torch.float32)
    d_outputs = torch.randn_like(cell(x)[0])

    def step():
        cell(x)[0].backward(d_outputs)

    return step


def step_times(registry, cell: str, rounds: int) -> dict:
    """Every path's median ms per training step and the fast path's recurrence alone,
    alternated, with the floors measured after: ``{"paths": {kernel: path}, "ms": {kernel or
    RECURRENCE: ms}, "gflop": ..., "floor_ms": ..., "recurrence_floor_ms": ...}``."""
    steps, paths = {}, {}
    for kernel in PATHS:
        run, trainer, batches = harness_trainer(registry, f"torch:{cell}", kernel=kernel)
        steps[kernel] = training_step(trainer, batches)
        paths[kernel] = trainer.kernel_path
    steps[RECURRENCE] = recurrence_step(trainer, batches)
    medians = interleaved_medians(steps, rounds=rounds, warmup=3)
    batch, length, input_size = batches[0].inputs.shape
    products = step_products(cell, batch, length, input_size, run.spec.hidden,
                             run.task.output_size)
    return dict(paths=paths, ms={kernel: m * 1e3 for kernel, m in medians.items()},
                gflop=sum(p.gflop for p in products), floor_ms=floor_ms(products),
                recurrence_floor_ms=floor_ms(products[:len(recurrence_products(
                    cell, batch, length, input_size, run.spec.hidden))]))


PEAK_PROGRAM = """
import ctypes, json, re, sys
import torch
from tests.benchmarks.conftest import harness_trainer, training_step
from tests.helpers import make_host
cell, kernel, length, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if threads:
    torch.set_num_threads(threads)
def status_mb(field):
    with open("/proc/self/status") as handle:
        return int(re.search(field + r":\\s+(\\d+)", handle.read()).group(1)) / 1024
_, trainer, batches = harness_trainer(make_host().registry, f"torch:{cell}", kernel=kernel,
                                      task_params={"length": length})
step = training_step(trainer, batches[:1])
step()  # the optimiser's state and the libraries' caches, not the step's own need
release = getattr(ctypes.CDLL(None), "malloc_trim", None)
if release is not None:  # glibc: every freed page back to the kernel
    release(0)
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # resets the peak resident set (VmHWM) to the current one
before = status_mb("VmRSS")
step()
print(json.dumps({"path": trainer.kernel_path, "peak_growth_mb": status_mb("VmHWM") - before}))
"""
"""One path's peak memory in a process of its own. It gives what the first step freed back to
the kernel (glibc's ``malloc_trim``) before the measured step: without that, a path whose
step makes many small allocations (the frameworks' CPU kernels run a step at a time, a state
and its gradient per step) served them from memory the first step had freed and the process
kept, which the rise of the peak does not see. `nn.RNN` read 113-191 MB that way, median
137, where its step needs about 300 MB; with it, each path reads within 8% of its median
from process to process."""


MEMORY_PROCESSES = 3
"""Fresh processes per path whose peak growth is the median."""


def step_peak_memory(cell: str, kernel: str, length: int, threads: int = 0,
                     processes: int = MEMORY_PROCESSES) -> dict:
    """One training step in each of ``processes`` fresh processes: the path and the median of
    how far the step raised the peak RSS (``peak_growth_mb``), each process's too
    (``peaks_mb``)."""
    peaks, path = [], None
    for _ in range(processes):
        done = subprocess.run([sys.executable, "-c", PEAK_PROGRAM, cell, kernel, str(length),
                               str(threads)], capture_output=True, text=True, check=True)
        one = json.loads(done.stdout.strip().splitlines()[-1])
        peaks.append(one["peak_growth_mb"])
        path = one["path"]
    return {"path": path, "peak_growth_mb": statistics.median(peaks), "peaks_mb": peaks}



@dataclass(frozen=True)
class Verdict:
    """One cell's row, as the answer line reads it."""

    cell: str
    speedup: float
    """framework ÷ compiled"""
    of_floor: float
    """compiled ÷ floor"""
    best_of_floor: float
    """(recurrence floor + rest of the step) ÷ floor: the least a recurrence could reach"""
    recurrence_of_floor: float
    """recurrence alone ÷ the recurrence's own products' floor: the kernel apart from the rest"""


def _span(values: list[float]) -> str:
    low, high = f"{min(values):.2f}", f"{max(values):.2f}"
    return f"{low}x" if low == high else f"{low}-{high}x"


def answer(verdicts: list[Verdict]) -> str:
    """What the table says, in two sentences."""
    speedups = ", ".join(f"{v.speedup:.2f}x ({v.cell})" for v in verdicts)
    within = [v.cell for v in verdicts if v.of_floor <= FLOOR_TARGET]
    beyond = [f"{v.cell} at {v.best_of_floor:.2f}x" for v in verdicts
              if v.best_of_floor > FLOOR_TARGET]
    line = (f"bench-compiled's step is {speedups} faster than the frameworks' kernels; "
            f"{', '.join(within) or 'no cell'} within {FLOOR_TARGET}x of its floor "
            f"(compiled ÷ floor {_span([v.of_floor for v in verdicts])}; the recurrences alone "
            f"{_span([v.recurrence_of_floor for v in verdicts])} of their own products' floor).")
    if beyond:
        line += (" Even with the recurrence at its own products' floor, the rest of the "
                 f"step would keep {', '.join(beyond)} of the floor.")
    return line

HEADER = ["cell", "framework path", "framework ms", "bench-fused ms", "bench-compiled ms",
          "framework ÷ compiled", "bench-fused ÷ compiled", "step GFLOP", "floor ms",
          "compiled ÷ floor", f"within {FLOOR_TARGET}x", "recurrence alone ms",
          "rest of step ms", "recurrence ÷ its floor", "(recurrence floor + rest) ÷ floor",
          "peak MB framework",
          "peak MB bench-fused", "peak MB compiled", "loadavg"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--length", type=int, default=1000,
                        help="T of the peak memory step; 0: no memory columns")
    parser.add_argument("--cells", default=",".join(STANDARD_CELLS))
    parser.add_argument("--allocator", choices=("kept", "default"), default="kept",
                        help="time the steps with freed memory kept, as bench's runs do "
                             "(harness/allocator.py), or with the C library's default")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    allocator = keep_freed_memory() if args.allocator == "kept" else DEFAULT
    registry = make_host().registry
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; copy T=100, "
          f"batch 128, 128 units; steps timed with the allocator: {allocator}; peak memory "
          f"of one step at T={args.length} (the allocator's default)")
    print("| " + " | ".join(HEADER) + " |\n|" + "---|" * len(HEADER), flush=True)
    verdicts = []
    for cell in args.cells.split(","):
        load = loadavg()
        row = step_times(registry, cell, args.rounds)
        peaks = {k: step_peak_memory(cell, k, args.length, args.threads) if args.length
                 else {"peak_growth_mb": float("nan")} for k in PATHS}
        ms = row["ms"]
        ratio = ms[FAST] / row["floor_ms"]
        rest = ms[FAST] - ms[RECURRENCE]
        cells = [cell, row["paths"]["framework"], *(f"{ms[k]:.1f}" for k in PATHS),
                 f"{ms['framework'] / ms[FAST]:.2f}", f"{ms['bench'] / ms[FAST]:.2f}",
                 f"{row['gflop']:.2f}", f"{row['floor_ms']:.1f}", f"{ratio:.2f}",
                 "yes" if ratio <= FLOOR_TARGET else "no", f"{ms[RECURRENCE]:.1f}",
                 f"{rest:.1f}", f"{ms[RECURRENCE] / row['recurrence_floor_ms']:.2f}",
                 f"{(row['recurrence_floor_ms'] + rest) / row['floor_ms']:.2f}",
                 *(f"{peaks[k]['peak_growth_mb']:.0f}" for k in PATHS), load]
        print("| " + " | ".join(cells) + " |", flush=True)
        verdicts.append(Verdict(cell, ms["framework"] / ms[FAST], ratio,
                                (row["recurrence_floor_ms"] + rest) / row["floor_ms"],
                                ms[RECURRENCE] / row["recurrence_floor_ms"]))
    print(answer(verdicts))



if __name__ == "__main__":
    main()
