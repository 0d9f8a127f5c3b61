"""The project's reproduce suites are valid: every claim reads, every run is a valid spec,
and every check names a cell and setting that the suite's runs produce."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from harness.commands.run import parse_arguments, requested_specs
from harness.reproduce import load_reproduce_suite
from harness.tasks import LENGTH_PARAMETER

SUITES = sorted((Path(__file__).parents[2] / "results" / "suites").glob("*.toml"))


@pytest.mark.parametrize("path", SUITES, ids=[p.stem for p in SUITES])
def test_every_check_is_about_a_run_of_the_suite(path, host):
    host.register(importlib.import_module("bench_longmem.plugin").torch_cells, "longmem_torch")
    suite = load_reproduce_suite(str(path))
    specs = requested_specs(parse_arguments(["--suite", str(path)]), host.registry)
    ran = {(s.cell, s.task, s.task_params.get(LENGTH_PARAMETER)) for s in specs}
    on_task = {(cell, task) for cell, task, _ in ran}
    for claim in suite.claims:
        for check in claim.checks:
            if check.than is None:
                assert (check.cell, claim.task, claim.length) in ran, (claim.text, check)
            else:
                assert {(check.cell, claim.task), (check.than, claim.task)} <= on_task
    assert suite.expected_minutes and suite.full_size
