"""The environment a record was measured in: versions, hardware, git commit, date."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import __version__


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id",
                    "/sys/class/dmi/id/product_uuid")


def machine_id() -> str:
    """A stable, anonymous name for this machine: a hash of the OS's machine id (or the
    hardware's UUID), else of the hostname and CPU model. Hostnames repeat across VMs and CI
    runners (``vm``, ``runner``), so they cannot tell two machines apart."""
    for path in MACHINE_ID_FILES:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text:
            return hashlib.sha256(text.encode()).hexdigest()[:16]
    fallback = f"{platform.node()}|{_cpu_model()}"
    return "host-" + hashlib.sha256(fallback.encode()).hexdigest()[:16]


SOURCE_DIR = Path(__file__).resolve().parent
"""Where bench's code lies: the commit recorded is that of the code measured, wherever the
command runs from (an A/B recipe runs two checkouts from one directory)."""


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5,
                             cwd=SOURCE_DIR)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def host_environment() -> dict[str, Any]:
    """What does not change within one process."""
    # bench installed (not checked out) inside another project's tree is not its code
    tracked = _git("ls-files", "--error-unmatch", "__init__.py") is not None
    commit = _git("rev-parse", "HEAD") if tracked else None
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no")) if commit else None
    return {
        "harness_version": __version__,
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "hostname": platform.node(),
        "machine_id": machine_id(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "git_commit": commit,
        "git_dirty": dirty,
    }
