"""All-or-nothing writing of the report's files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

FILE_MODE = 0o644
"""mkstemp creates files readable by the owner only; a report is meant to be shared."""


def write_files(files: Mapping[Path, str]) -> None:
    """Write each text to a temporary sibling first and rename them into place only once all
    are complete, so an error leaves neither a half-written file nor half of the report."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
            staged.append((Path(tmp), path))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, FILE_MODE)
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
