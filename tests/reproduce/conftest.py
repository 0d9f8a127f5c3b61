"""The tiny reproduce suite, run once for the module that asks for it."""

from __future__ import annotations

import pytest

import harness.plugins
from harness.cli import main
from harness.records import load_results
from tests.helpers import make_host
from tests.reproduce.suite import write_suite
from tests.toyplugins import ToyTasks


@pytest.fixture(scope="module")
def toy_tasks_host():
    host = make_host("tasks", "torch")
    host.register(ToyTasks(), "toy-tasks")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(harness.plugins, "_default_host", host)
        yield host


@pytest.fixture(scope="module")
def tiny_results(toy_tasks_host, tmp_path_factory):
    """The records of the tiny suite, trained for real: (results directory, records)."""
    base = tmp_path_factory.mktemp("reproduce")
    out = base / "results"
    assert main(["run", "--suite", str(write_suite(base)), "--out", str(out),
                 "--threads", "1"]) == 0
    return out, load_results(out).records
