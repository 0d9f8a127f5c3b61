"""``bench parity``: do the backends compute the same cells? (see :mod:`harness.parity`)"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.markup import escape

from harness.display import stdout, warn_plugin_errors
from harness.formatting import fmt
from harness.parity import (
    ATOL,
    INPUT_SIZE,
    RTOL,
    TOLERANCE,
    CellParity,
    check_parity,
    parity_answer,
)
from harness.plugins import default_host
from harness.render.terminal import to_rich
from harness.table_model import Column, Table, Toned


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "parity", help="check that the backends compute the same cells",
        description="Run each cell that two or more available backends provide once forward "
        "and backward, in every such backend, on the same seeded canonical weights (biases "
        "and LayerNorm parameters moved off their initial values), inputs and cotangent, and "
        "compare outputs, final state, input gradient and every weight gradient with the "
        f"first backend's. Pass: {TOLERANCE}. Inputs have {INPUT_SIZE} features.",
        epilog="Exit codes: 0 all agree, 1 a mismatch, 2 usage error.",
    )
    p.add_argument("--cells", type=lambda raw: raw.split(","),
                   help="comma-separated cell names, e.g. lstm,gru (default: every cell that "
                   "two or more available backends provide)")
    p.add_argument("--length", type=int, default=20, help="sequence length (default: 20)")
    p.add_argument("--batch", type=int, default=4, help="batch size (default: 4)")
    p.add_argument("--hidden", type=int, default=16, help="hidden size (default: 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and data (default: 0)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(execute=execute_command)


def execute_command(args) -> int:
    host = default_host()
    warn_plugin_errors(host)
    results = check_parity(host.registry, args.cells, length=args.length, batch=args.batch,
                           hidden=args.hidden, seed=args.seed)
    ok = all(r.ok for r in results)
    if args.json:
        settings = {"length": args.length, "batch": args.batch, "hidden": args.hidden,
                    "seed": args.seed, "input_size": INPUT_SIZE}
        print(json.dumps({"ok": ok, "tolerance": {"atol": ATOL, "rtol": RTOL},
                          "settings": settings, "results": [r.to_dict() for r in results]},
                         indent=1))
    else:
        stdout.print(to_rich(parity_table(results)))
        stdout.print(f"[{'green' if ok else 'red'}]{escape(parity_answer(results))}[/]",
                     soft_wrap=True)
    return 0 if ok else 1


def parity_table(results: Sequence[CellParity]) -> Table:
    table = Table("cross-backend parity", [
        Column("cell", fold=False), Column("backend vs reference"), Column("quantity"),
        Column("max |diff|", "right"), Column("tolerance", "right"), Column("result")],
        caption=f"pass: {TOLERANCE}")
    for result in results:
        for i, d in enumerate(result.differences):
            first = i == 0
            table.rows.append([
                result.cell if first else "",
                f"{result.backend} vs {result.reference}" if first else "",
                d.quantity, fmt(d.max_abs_diff), fmt(d.tolerance),
                Toned("ok", "good") if d.ok else Toned(
                    f"MISMATCH{': ' + d.detail if d.detail else ''}", "bad"),
            ])
        table.group_ends.add(len(table.rows) - 1)
    return table
