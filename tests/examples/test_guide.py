"""docs/plugins.md shows the example plugin's files as they are."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "plugins" / "examples" / "bench_peephole"


def test_the_guide_quotes_the_example_files_verbatim():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    quoted = dict(re.findall(r"^`([\w./]+)`:\n\n```\w+\n(.*?)^```$", guide, re.M | re.S))

    assert set(quoted) == {"pyproject.toml", "bench_peephole/plugin.py",
                           "bench_peephole/layout.py", "bench_peephole/cell.py",
                           "bench_peephole/reference.py", "tests/test_conformance.py"}
    for name, text in quoted.items():
        assert text == (EXAMPLE / name).read_text(), name
