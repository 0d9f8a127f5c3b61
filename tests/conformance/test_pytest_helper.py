"""conformance_tests: one pytest item per check; failures fail with the fix, skips skip."""

from __future__ import annotations

import pytest

from harness.conformance import conformance_tests
from harness.errors import UsageError
from tests.conformance.faulty import FaultyPlugin
from tests.helpers import make_host


def test_one_item_per_check_that_fails_with_the_fix_or_skips_with_why():
    host = make_host("tasks", "torch")
    host.register(FaultyPlugin(), "faulty")
    test = conformance_tests("faulty:swapped", host=host)

    (mark,) = test.pytestmark
    planned = dict(zip(mark.kwargs["ids"], mark.args[1], strict=True))
    assert list(planned)[:3] == ["faulty-available", "faulty-devices", "faulty-probe"]
    assert "faulty:swapped-roundtrip" in planned
    with pytest.raises(pytest.fail.Exception, match="fix: load and export"):
        test(planned["faulty:swapped-roundtrip"])
    with pytest.raises(pytest.skip.Exception, match="no reference for 'swapped'"):
        test(planned["faulty:swapped-reference"])
    test(planned["faulty:swapped-forward"])


def test_an_unknown_cell_names_the_broken_plugin_that_should_have_brought_it():
    class Raising:
        from harness import hookimpl

        @hookimpl
        def bench_register_cells(self, register):
            raise RuntimeError("boom")

    host = make_host("tasks", "torch")
    host.register(Raising(), "raising")
    with pytest.raises(UsageError, match=r"unknown cell 'peephole'.*broken plugins: plugin "
                       r"'raising': bench_register_cells raised RuntimeError: boom"):
        conformance_tests("peephole", host=host)
