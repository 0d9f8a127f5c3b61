"""Build the report: assemble it, render both formats, write them all-or-nothing."""

from __future__ import annotations

from pathlib import Path

from harness.atomic import write_files, writing
from harness.errors import UsageError
from harness.records import ResultSet

from .html import render_html
from .markdown import render_markdown
from .page import Report, assemble

HTML_NAME = "report.html"
MARKDOWN_NAME = "summary.md"


def build_report(results: ResultSet, source: Path, out_dir: Path) -> tuple[list[Path], Report]:
    """Write ``report.html`` and ``summary.md`` into ``out_dir``; return their paths and the
    report.

    The directory is made first, so that a path that cannot be one fails before the work;
    the files are rendered in full before either is written, so no error leaves half a report.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {str(out_dir)!r} is a file; --out names the directory the "
                         "report is written into")
    with writing("the report", out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    report = assemble(results, source)
    files = {out_dir / HTML_NAME: render_html(report),
             out_dir / MARKDOWN_NAME: render_markdown(report)}
    with writing("the report", out_dir):
        write_files(files)
    return list(files), report
