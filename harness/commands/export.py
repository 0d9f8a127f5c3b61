"""``bench export``: run records as a CSV or Parquet table, one row per run."""

from __future__ import annotations

from pathlib import Path

from harness.atomic import staged
from harness.commands import read_results
from harness.errors import UsageError
from harness.export import to_dataframe
from harness.formatting import plural

FORMATS = ("csv", "parquet")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write run records as a CSV or Parquet table (one row per run)",
        description="Flatten every run record under RESULTS_DIR into one table: a row per "
        "run, a column per spec field, measurement and environment entry (spec.cell, "
        "spec.task_params.length, accuracy.headline, speed.step_ms_median, ...). Per-step "
        "series (learning curve, step times, gradient profile) stay in the records. Needs "
        "pandas (and pyarrow for parquet): pip install 'bench-harness[analysis]'. In Python: "
        "harness.export.load_dataframe(RESULTS_DIR).",
    )
    p.add_argument("results", metavar="RESULTS_DIR", help="results directory written by "
                   "bench run (searched recursively), or a single record file")
    p.add_argument("--format", choices=FORMATS, default="csv", help="(default: csv)")
    p.add_argument("-o", "--out", metavar="FILE", help="output file (default: runs.FORMAT "
                   "in RESULTS_DIR)")
    p.set_defaults(execute=execute_command)


def execute_command(args) -> int:
    source = Path(args.results)
    results, root = read_results(source)
    frame = to_dataframe(results.records)
    out = Path(args.out) if args.out else root / f"runs.{args.format}"
    if not out.parent.is_dir():
        raise UsageError(f"--out {str(out)!r}: no such directory {str(out.parent)!r}")
    with staged(out) as tmp:
        if args.format == "csv":
            frame.to_csv(tmp)
        else:
            _write_parquet(frame, tmp)
    print(f"wrote {out} ({plural(len(frame), 'run')}, {plural(frame.shape[1], 'column')})")
    return 0


def _write_parquet(frame, path: Path) -> None:
    try:
        frame.to_parquet(path)
    except ImportError:
        raise UsageError("--format parquet needs pyarrow: pip install "
                         "'bench-harness[analysis]'") from None
