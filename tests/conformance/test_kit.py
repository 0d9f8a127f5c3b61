"""The conformance kit finds each planted fault, names the check and the fix, and skips
with a reason what it cannot check."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest

from bench_torch import plugin as torch_plugin
from bench_torch.cells import build_cell
from harness import hookimpl
from harness.canonical import init_lnrnn
from harness.conformance import plan_checks, run_checks
from harness.errors import UsageError
from harness.registry import Backend, Cell
from tests.conformance.faulty import FAULTS, FaultyPlugin
from tests.helpers import make_host


@pytest.fixture(scope="module")
def faulty():
    host = make_host("tasks", "torch")
    host.register(FaultyPlugin(), "faulty")
    return host


def test_each_planted_fault_fails_exactly_its_check(faulty):
    results = run_checks(faulty.registry, backend="faulty")

    failed = {(r.subject, r.check) for r in results if r.failed}
    assert failed == {(f"faulty:{name}", check) for name, (_, _, check) in FAULTS.items()} | {
        ("faulty", "standard cells")}
    assert all(r.fix for r in results if r.failed)
    by_key = {(r.subject, r.check): r for r in results}
    assert "first input step" in by_key["faulty:detached", "gradients"].message
    assert "by finite differences" in by_key["faulty:straight", "gradients"].message
    assert by_key["faulty:rnn", "gradients"].message == (  # its fault is in its equations
        "gradients reach every weight (5) and input step 0; finite differences agree; trainer "
        "input_gradient reaches step 0")
    assert "recurrent_dropout=0.5 left the training loss unchanged" in by_key[
        "faulty:nodrop", "options"].message
    assert ("recurrent_dropout=0.5 changed the loss of a one-step sequence from the zero state"
            in by_key["faulty:carrieddrop", "options"].message)
    assert "harness.reference.rnn" in by_key["faulty:rnn", "reference"].message
    assert ", from step 0), final h (max |diff|" in by_key["faulty:rnn", "reference"].message
    assert by_key["faulty:swapped", "reference"].outcome == "skipped"
    assert by_key["faulty:swapped", "reference"].message == (
        "no reference for 'swapped' (register the cell with reference=, its numpy equations, "
        "to check them)")
    assert by_key["faulty", "standard cells"].message == \
        "lacks standard cells lnrnn, lstm, gru"
    assert "init 'framework' and one seed drew different weights" in by_key[
        "faulty:freshinit", "protocol"].message


def test_a_backend_with_every_standard_cell_passes_the_catalogue_check():
    planned = plan_checks(make_host("tasks", "torch").registry, backend="torch")
    results = {(p.subject, p.check.name): p.run() for p in planned
               if p.subject == "torch"}
    assert results["torch", "standard cells"].outcome == "passed"
    assert results["torch", "standard cells"].message == "rnn, lnrnn, lstm, gru"


def test_a_failure_reads_as_cell_check_message_and_fix(faulty):
    (result,) = [p.run() for p in plan_checks(faulty.registry, cells=["faulty:swapped"])
                 if p.check.name == "roundtrip"]

    assert result.describe() == (
        "faulty:swapped roundtrip: export_weights() does not return the weights just loaded\n"
        "  fix: load and export with the same canonical names, transposes and gate order "
        "(see harness.canonical)"
    )


def test_an_exception_from_the_plugin_is_a_failure_naming_where_it_was_raised(host):
    from tests.toyplugins import BrokenCell

    host.register(BrokenCell(), "broken-cell")
    results = {p.check.name: p.run() for p in plan_checks(host.registry, cells=["broken"])}

    assert results["construct"].failed
    assert results["construct"].message == "the initializer returned no W kernel"
    # the checks after it need a cell that builds: skipped, pointing at construct's failure,
    # rather than failed with fixes of their own that point elsewhere
    later = [r for r in results.values() if ":" in r.subject and r.check != "construct"]
    assert len(later) == 8 and {(r.outcome, r.message) for r in later} == {
        ("skipped", "construct failed, and this check needs it: fix that first")}
    (forward,) = [p for p in plan_checks(host.registry, cells=["broken"])
                  if p.check.name == "forward"]
    forward = forward.run()  # run alone, as a pytest item may be
    assert forward.failed
    assert forward.message.startswith("raised RuntimeError: this cell cannot be built (at ")
    assert "toyplugins.py:" in forward.message and "docs/plugins.md" in forward.fix


class WithoutProbe:
    """A backend that cannot probe cells: its gradient check uses the trainer only."""

    @hookimpl
    def bench_register_backends(self, register):
        register(Backend(name="noprobe", framework="PyTorch", version=None, available=True,
                         build_trainer=torch_plugin.build_trainer,
                         list_devices=torch_plugin.list_devices))
        register(Backend(name="missing", framework="Nothing", version=None, available=False,
                         reason="pip install nothing", build_trainer=None,
                         list_devices=lambda: []))

    @hookimpl
    def bench_register_cells(self, register):
        register(replace(torch_plugin_cell("lnrnn"), backend="noprobe"))
        register(Cell("lnrnn", "missing", factory=None, initializer=init_lnrnn))


def torch_plugin_cell(name: str) -> Cell:
    cells = []
    torch_plugin.bench_register_cells(cells.append)
    return next(c for c in cells if c.name == name)


def test_what_needs_probe_cell_is_skipped_with_why_and_unavailable_backends_are_skipped():
    host = make_host("tasks")
    host.register(WithoutProbe(), "noprobe")
    results = {(r.subject, r.check): r for r in run_checks(host.registry)}

    assert results["noprobe", "probe"].outcome == "skipped"
    assert "no probe_cell" in results["noprobe", "probe"].message
    for path in ("framework", "bench"):
        assert results[f"noprobe:lnrnn/{path}", "reference"].outcome == "skipped"
        assert results[f"noprobe:lnrnn/{path}", "reference"].message == \
            "backend 'noprobe' has no probe_cell"
        assert results[f"noprobe:lnrnn/{path}", "gradients"].message == \
            "trainer input_gradient reaches step 0"
    assert [key for key, r in results.items() if r.failed] == [("noprobe", "standard cells")]
    assert results["missing", "available"].outcome == "skipped"
    assert results["missing", "available"].message == "unavailable: pip install nothing"
    assert not any(subject.startswith("missing:") for subject, _ in results)
    with pytest.raises(UsageError, match="backend 'missing' is unavailable: pip install"):
        plan_checks(host.registry, backend="missing")


def test_without_the_task_the_record_check_is_skipped(faulty):
    planned = plan_checks(faulty.registry, cells=["torch:lnrnn"], task="nonesuch")
    records = [p.run() for p in planned if p.check.name == "record"]

    assert [r.subject for r in records] == ["torch:lnrnn/framework", "torch:lnrnn/bench",
                                            "torch:lnrnn/compiled"]
    for record in records:
        assert record.outcome == "skipped"
        assert record.message.startswith("task 'nonesuch' is not registered")


def test_a_trainer_that_drops_a_protocol_field_fails_the_protocol_check():
    """A backend whose trainer ignores weight decay trains fine, and only `protocol` fails."""
    class NoDecay:
        @hookimpl
        def bench_register_backends(self, register):
            register(Backend(name="nodecay", framework="PyTorch", version=None, available=True,
                             build_trainer=lambda config: torch_plugin.build_trainer(
                                 replace(config, weight_decay=0.0)),
                             list_devices=torch_plugin.list_devices))

        @hookimpl
        def bench_register_cells(self, register):
            register(Cell("lnrnn", "nodecay", factory=partial(build_cell, "lnrnn"),
                          initializer=init_lnrnn))

    host = make_host("tasks", "torch")
    host.register(NoDecay(), "nodecay")
    results = run_checks(host.registry, cells=["nodecay:lnrnn"])
    assert [r.check for r in results if r.failed] == ["protocol"]
    (failure,) = [r for r in results if r.failed]
    assert "should multiply every weight by 0.95 at update 1" in failure.message
