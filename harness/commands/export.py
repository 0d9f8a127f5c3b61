"""``bench export``: run records as a CSV or Parquet table, one row per run."""

from __future__ import annotations

from pathlib import Path

from harness.atomic import staged, writing
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
    p.add_argument("--format", choices=FORMATS, help="(default: the extension of --out, "
                   ".csv or .parquet; csv for an --out without one)")
    p.add_argument("-o", "--out", metavar="FILE", help="output file (default: runs.FORMAT "
                   "in RESULTS_DIR)")
    p.set_defaults(execute=execute_command)


def execute_command(args) -> int:
    source = Path(args.results)
    results, root = read_results(source)
    out = Path(args.out) if args.out else None
    form = table_format(args.format, out)
    out = out or root / f"runs.{form}"
    if out.is_dir():
        named = "--out" if args.out else "the default output"
        raise UsageError(f"{named} {str(out)!r} is a directory; --out names the file to write, "
                         f"such as {str(out / f'runs.{form}')!r}")
    if not out.parent.is_dir():
        raise UsageError(f"--out {str(out)!r}: no such directory {str(out.parent)!r}")
    frame = to_dataframe(results.records)
    with writing("the table", out), staged(out) as tmp:
        if form == "csv":
            frame.to_csv(tmp)
        else:
            _write_parquet(frame, tmp)
    print(f"wrote {out} ({plural(len(frame), 'run')}, {plural(frame.shape[1], 'column')})")
    return 0


def table_format(chosen: str | None, out: Path | None) -> str:
    """The format asked for, else the one --out's extension names, else csv for an --out
    without one; a format that contradicts the extension is an error rather than a Parquet
    file named .csv, and so is an extension of neither without --format (a CSV file named
    .xlsx would not open as one)."""
    named = out.suffix.lstrip(".").lower() if out is not None else ""
    if chosen is None:
        if named and named not in FORMATS:
            raise UsageError(f"--out {str(out)!r}: bench writes .csv or .parquet, not .{named}; "
                             "name the file .csv or .parquet, or give --format")
        return named or "csv"
    if named in FORMATS and named != chosen:
        raise UsageError(f"--format {chosen} but --out {str(out)!r} names a .{named} file; "
                         f"name it .{chosen}, or leave --format out")
    return chosen


def _write_parquet(frame, path: Path) -> None:
    try:
        frame.to_parquet(path)
    except ImportError:
        raise UsageError("--format parquet needs pyarrow: pip install "
                         "'bench-harness[analysis]'") from None
