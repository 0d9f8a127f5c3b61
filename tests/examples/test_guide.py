"""docs/plugins.md shows the example plugins' files as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "plugins" / "examples"
SECTIONS = {
    "## 6. A complete example": ("bench_peephole", ["plugin.py", "layout.py", "cell.py",
                                                    "reference.py"]),
    "## 7. A complete Keras example": ("bench_leaky_ln", ["plugin.py", "layout.py", "cell.py",
                                                          "reference.py"]),
}


@pytest.mark.parametrize("heading", SECTIONS)
def test_the_guide_quotes_the_example_files_verbatim(heading):
    guide = (ROOT / "docs" / "plugins.md").read_text()
    section = guide[guide.index(heading):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    quoted = dict(re.findall(r"^`([\w./]+)`:\n\n```\w+\n(.*?)^```$", section, re.M | re.S))
    package, modules = SECTIONS[heading]

    assert set(quoted) == {"pyproject.toml", "tests/test_conformance.py",
                           *(f"{package}/{module}" for module in modules)}
    for name, text in quoted.items():
        assert text == (EXAMPLES / package / name).read_text(), name
