"""Each example plugin registers its numpy equations with its cell, and the kit's planning
(what ``bench check`` runs) holds the cell to them."""

from __future__ import annotations

import bench_leaky_ln.plugin
import bench_peephole.plugin
import pytest
from bench_leaky_ln.reference import leaky_ln
from bench_peephole.reference import peephole

from harness.conformance import plan_checks
from tests.helpers import make_host


@pytest.mark.parametrize(("backend", "plugin", "cell", "equations"), [
    ("torch", bench_peephole.plugin, "torch:peephole", peephole),
    ("keras", bench_leaky_ln.plugin, "keras:leakyln", leaky_ln),
])
def test_the_kit_holds_the_cell_to_the_reference_it_was_registered_with(backend, plugin, cell,
                                                                         equations):
    host = make_host("tasks", backend, example=plugin)
    (planned,) = [p for p in plan_checks(host.registry, cells=[cell])
                  if p.check.name == "reference"]
    assert planned.target.reference is equations
