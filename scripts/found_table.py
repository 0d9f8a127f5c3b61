"""What bench found: per task, how far back each PyTorch cell remembers and solves, on this
machine, as the Markdown table of README's "What bench found".

    python scripts/found_table.py [--out bench-results/found] [--tasks copy,adding]

Runs, per task, the length search of ``bench run`` (docs/memory.md) for every cell of the
table, ``bench run --task T --cells CELLS --steps 500 --budget 2000 --max-length 80
--json``: half the default steps per length and half the default budget per cell, and no
length above 80 (a cell that solves each length in a hundred steps would otherwise double
its length within the budget up to T=2560, hours on a CPU), so that both tasks finish within
an hour on a shared 2-core CPU. Then prints one row per cell. Records stay in
``--out/TASK``, so an interrupted run resumes where it stopped and a finished one only
prints the table again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CELLS = ("torch:rnn", "torch:lnrnn", "torch:lstm", "torch:gru", "torch:indrnn",
         "torch:exprnn", "torch:mingru", "torch:minlstm", "torch:lru")
"""The standard cells, then the long-memory cells of plugins/bench_longmem."""
STEPS = 500
BUDGET = 2000
MAX_LENGTH = 80


def search(task: str, out: Path) -> list[dict]:
    """The ``memory`` entries of ``bench run --json``: one per cell."""
    command = [sys.executable, "-m", "harness.cli", "run", "--task", task,
               "--cells", ",".join(CELLS), "--steps", str(STEPS), "--budget", str(BUDGET),
               "--max-length", str(MAX_LENGTH),
               "--out", str(out / task), "--json"]
    print(" ".join(["bench", *command[3:]]), file=sys.stderr)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode not in (0, 1):  # 1: a run failed; its cell's row says so
        sys.exit(done.returncode)
    return json.loads(done.stdout)["memory"]


def _length(value: int | None) -> str:
    return "none" if value is None else f"T={value}"


def table(found: dict[str, list[dict]]) -> str:
    tasks = list(found)
    lines = ["| cell | " + " | ".join(f"{t}: remembers | {t}: solves" for t in tasks) + " |",
             "|---|" + "---:|---:|" * len(tasks)]
    by_cell = {task: {m["cell"]: m for m in memory} for task, memory in found.items()}
    for cell in CELLS:
        row = []
        for task in tasks:
            memory = by_cell[task].get(cell)
            row += (["-", "-"] if memory is None else
                    [_length(memory["remembers_up_to"]), _length(memory["solves_up_to"])])
        lines.append(f"| `{cell}` | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench-results/found"))
    parser.add_argument("--tasks", default="copy,adding")
    args = parser.parse_args()
    found = {task: search(task, args.out) for task in args.tasks.split(",")}
    print(table(found))
    for memory in (m for task in found.values() for m in task):
        print(f"- {memory['answer']} Search stopped: {memory['search_stopped']}.")


if __name__ == "__main__":
    main()
