"""Helpers of the report tests: a small real sweep, and reading tables back out of the page."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from harness.cli import main

SWEEP = ["run", "--task", "adding", "--cells", "torch:rnn,torch:lstm", "--lengths", "4,8",
         "--seeds", "0,1", "--steps", "10", "--hidden", "8", "--batch", "8",
         "--eval-size", "32", "--eval-every", "5"]


def real_sweep(base: Path) -> Path:
    """Records of SWEEP under ``base``, made with the real CLI in-process (the ``host`` fixture
    must be installed) on first use and shared afterwards: copy it before changing it."""
    path = base / "report-sweep"
    if not path.exists():
        staging = base / "report-sweep-staging"
        assert main([*SWEEP, "--out", str(staging)]) == 0
        staging.rename(path)
    return path


def html_tables(fragment: str) -> list[list[dict[str, str]]]:
    """Each ``<table>`` of a page fragment, in order, as rows keyed by column name."""
    found = []
    for table in re.findall(r"<table>(.*?)</table>", fragment, re.S):
        head, body = table.split("</thead>")
        names = [unescape(name) for name in re.findall(r"<th(?: [^>]*)?>(.*?)</th>", head)]
        found.append([
            dict(zip(names, map(unescape, re.findall(r"<td[^>]*>(.*?)</td>", row)), strict=True))
            for row in re.findall(r"<tr>(.*?)</tr>", body)
        ])
    return found


def section(page: str, task: str) -> str:
    """The part of the page about one task."""
    start = page.index(f'<section id="task-{task}">')
    return page[start:page.index("</section>", start)]
