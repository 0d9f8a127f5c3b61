"""bench's training processes keep freed memory for their next step (harness/allocator.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness import allocator

SECOND_TOUCH_FAULTS = """
import resource, sys
from harness.allocator import keep_freed_memory
if sys.argv[1] == "kept":
    print(keep_freed_memory())
size = 64 * 2**20  # above glibc's largest mmap threshold, as a training step's buffers are
block = bytearray(size)  # allocated and touched, then freed, as one step does
del block
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
block = bytearray(size)  # the next step's
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _second_touch_faults(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", SECOND_TOUCH_FAULTS, mode],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    lines = [line for line in out if line]
    return (lines[0] if mode == "kept" else ""), int(lines[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc only")
def test_memory_freed_by_one_step_serves_the_next_without_page_faults():
    """64 MiB freed and allocated again: the kernel maps and zeroes every page anew by
    default (16,384 faults), not once the allocator keeps what the process frees."""
    said, kept = _second_touch_faults("kept")
    _, default = _second_touch_faults("default")
    assert said == allocator.KEPT
    assert default > 10_000
    assert kept < 100
