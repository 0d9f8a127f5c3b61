"""``bench report``: an HTML page and a Markdown summary of a results directory."""

from __future__ import annotations

from pathlib import Path

from harness.commands import read_results
from harness.errors import UsageError
from harness.formatting import plural

DEFAULT_OUT = "report"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="write an HTML report and a Markdown summary of run records",
        description="Read every run record under RESULTS_DIR and write report.html (one "
        "self-contained page with figures and tables; open it from disk) and summary.md "
        "(the tables, for CI step summaries). Runs of different tasks get a section each. "
        "Unreadable files are named on stderr and in the report, and skipped.",
    )
    p.add_argument("results", metavar="RESULTS_DIR", help="results directory written by "
                   "bench run (searched recursively), or a single record file")
    p.add_argument("-o", "--out", metavar="DIR", help=f"output directory (default: "
                   f"RESULTS_DIR/{DEFAULT_OUT})")
    p.set_defaults(execute=execute_command)


def execute_command(args) -> int:
    source = Path(args.results)
    results, root = read_results(source)
    out_dir = Path(args.out) if args.out else root / DEFAULT_OUT
    try:
        # matplotlib loads only here, so the rest of bench neither needs it nor waits for it.
        from harness.report.build import build_report
    except ModuleNotFoundError as exc:
        if exc.name != "matplotlib":
            raise
        raise UsageError("matplotlib is not installed: pip install matplotlib",
                         command="bench report") from None
    paths, report = build_report(results, root, out_dir)
    skipped = (f", {plural(len(results.skipped), 'unreadable file')} skipped"
               if results.skipped else "")
    print(f"wrote {', '.join(str(p) for p in paths)} ({plural(len(results.records), 'run')}"
          f"{skipped})")
    for line in report.answers:  # last, as the report's own summary opens with them
        print(line)
    return 0
