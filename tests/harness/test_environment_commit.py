"""The commit a record names is that of bench's own code, not of the directory it ran in."""

import subprocess
import sys

import pytest

from harness.environment import SOURCE_DIR

PRINT_COMMIT = ("from harness.environment import host_environment; "
                "print(host_environment()['git_commit'])")


def git(*args, cwd) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_commit_is_benchs_wherever_the_command_runs(tmp_path):
    try:
        ours = git("rev-parse", "HEAD", cwd=SOURCE_DIR)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("bench is not installed from a git checkout here")
    other = tmp_path / "another-project"
    other.mkdir()
    git("init", "-q", cwd=other)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x",
        cwd=other)
    assert git("rev-parse", "HEAD", cwd=other) != ours
    recorded = subprocess.run([sys.executable, "-c", PRINT_COMMIT], cwd=other,
                              capture_output=True, text=True, check=True).stdout.strip()
    assert recorded == ours
