"""Keras, imported without TensorFlow's start-up notices on stderr.

Importing TensorFlow prints INFO notices from C++ straight to file descriptor 2 (absl's
"All log messages before absl::InitializeLog() ..." line, "oneDNN custom operations are
on ...", the CPU instructions it was not built for), which ``TF_CPP_MIN_LOG_LEVEL`` does
not silence; they interleave bench's progress lines and, in a benchmark log, read as if
the results were suspect. ``TF_ENABLE_ONEDNN_OPTS=0`` would silence one of them by
changing the numerics and the speed, so instead the first import of Keras (and with it its
backend framework) runs with fd 2 captured, and everything it printed but those notices
(warnings, errors, a traceback) is written back, unchanged and in order, also when the
import fails. Only that import is filtered, never the rest of the process; another thread's
output in that moment is delayed, not lost.

Every module of bench that uses Keras takes it from here (``from bench_keras.quiet_import
import keras``, kept first by ruff's isort section ``quiet-import``); once Keras is
imported, importing TensorFlow, ``keras.ops`` and the like prints nothing more.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

STARTUP_NOTICE = re.compile(rb"|".join((
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    rb"I\d{4} [\d:.]+ +\d+ [\w.-]+:\d+\] .*",  # absl's INFO: I<mmdd> <time> <thread> <file:line>]
    rb"To enable the following instructions: .* rebuild TensorFlow with the appropriate"
    rb" compiler flags\.",
)))
"""A line TensorFlow prints whenever it starts, telling a reader nothing about the run."""


def drop_startup_notices(captured: bytes) -> bytes:
    """``captured`` without its TensorFlow start-up notices; every other line unchanged."""
    return b"".join(line for line in captured.splitlines(keepends=True)
                    if not STARTUP_NOTICE.fullmatch(line.rstrip(b"\r\n")))


@contextmanager
def startup_notices_dropped() -> Iterator[None]:
    """Capture file descriptor 2 for the block, then write back what it printed without the
    start-up notices (also when the block raises)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = memoryview(drop_startup_notices(captured.read()))
            while kept:
                kept = kept[os.write(2, kept):]


with startup_notices_dropped():
    import keras as keras
