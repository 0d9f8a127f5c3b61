from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = str(Path(sys.executable).with_name("bench"))
TINY_RUN = ["--hidden", "8", "--batch", "8", "--eval-size", "32", "--eval-every", "5"]


@pytest.fixture
def bench():
    """Run the installed ``bench`` console script; returns the CompletedProcess."""

    def run(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
        return subprocess.run([BENCH, *args], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "BENCH_PLUGINS": "tasks,torch", **(env or {})},
                              cwd=cwd)

    return run
