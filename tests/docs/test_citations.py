"""The repository is self-contained: what code and docs cite exists in the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.py", "*.md", "*.toml", "*.ini"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / name for name in listed]


def test_every_cited_architecture_section_exists():
    sections = set(re.findall(r"^## (§\d+)", ARCHITECTURE.read_text(), flags=re.M))
    cited = {
        (path.relative_to(ROOT).as_posix(), section)
        for path in _tracked_text_files()
        for section in re.findall(r"architecture\.md (§\d+)", path.read_text())
    }
    assert cited, "nothing cites docs/architecture.md"
    missing = sorted((file, section) for file, section in cited if section not in sections)
    assert not missing, f"citations of sections that do not exist: {missing}"


def test_no_file_cites_the_design_notes_outside_the_repository():
    citing = [path.relative_to(ROOT).as_posix() for path in _tracked_text_files()
              if path != Path(__file__) and "DESIGN.md" in path.read_text()]
    assert not citing, f"cite docs/architecture.md instead: {citing}"


def test_relative_links_in_markdown_resolve():
    broken = []
    for path in _tracked_text_files():
        if path.suffix != ".md":
            continue
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert not broken, f"broken links: {broken}"
