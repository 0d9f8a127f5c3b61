"""The example plugins are separate packages, not installed with bench: their source
directories go on sys.path here, for the tests that register them in-process."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [ROOT / "plugins" / "examples" / name for name in ("bench_peephole", "bench_leaky_ln")]

for example in EXAMPLES:
    if str(example) not in sys.path:
        sys.path.insert(0, str(example))


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "venv: builds a virtualenv and pip-installs packages into it (~30 s)"
    )
