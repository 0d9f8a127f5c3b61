"""``bench check``: a table of results, the failures with their fixes, exit 1 on a failure."""

from __future__ import annotations

import json

import pytest

from harness import hookimpl
from harness.cli import main
from tests.conformance.faulty import FaultyPlugin


@pytest.fixture
def faulty_host(host):
    host.register(FaultyPlugin(), "faulty")
    yield host
    host.unregister("faulty")


def test_a_conforming_cell_passes(capsys, host):
    assert main(["check", "--cells", "torch:lnrnn"]) == 0
    out = capsys.readouterr().out
    assert "torch:lnrnn/framework" in out and "torch:lnrnn/bench" in out
    assert "roundtrip" in out
    # 3 backend checks, 9 per kernel path (3)
    assert out.strip().endswith("torch, torch:lnrnn honour the plugin contract: 30 passed")


def test_piped_output_starts_with_the_table(capsys, host):
    """In a log (no terminal) there is no progress bar, nor the empty line rich's progress
    leaves behind on stderr, which in ``bench check | head`` printed above the table."""
    assert main(["check", "--cells", "torch:rnn"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert [line.rstrip() for line in captured.out.splitlines()[:2]] == [
        "conformance", "subject             check         result detail"]


def test_json_lists_every_result(capsys, host):
    assert main(["check", "--cells", "lnrnn", "--backend", "torch", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["counts"] == {"passed": 30}
    assert data["results"][3] == {
        "subject": "torch:lnrnn/framework", "check": "construct", "outcome": "passed",
        "message": "loop, 50 parameters", "fix": "",
    }
    assert data["results"][12]["message"] == "bench-fused, 50 parameters"


def test_a_failure_is_named_with_its_fix_and_exits_1(capsys, faulty_host):
    assert main(["check", "--cells", "faulty:swapped"]) == 1
    out = capsys.readouterr().out
    assert ("FAILED faulty:swapped roundtrip: export_weights() does not return the weights "
            "just loaded\n  fix: load and export with the same canonical names") in out
    assert out.strip().endswith("faulty:swapped does not honour the plugin contract (the FAILED "
                                "lines say how to fix it): 10 passed, 1 failed, 1 skipped")


@pytest.mark.parametrize("args, message", [
    (["--cells", "nonesuch"], "unknown cell 'nonesuch'"),
    (["--cells", "lstm", "--task", "nonesuch"], "unknown task 'nonesuch'"),
    (["--backend", "nonesuch"], "unknown backend 'nonesuch'"),
])
def test_usage_errors_are_one_line_and_exit_2(capsys, host, args, message):
    assert main(["check", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bench: error: {message}") and err.count("\n") == 1


class RaisingPlugin:
    @hookimpl
    def bench_register_cells(self, register):
        raise RuntimeError("boom")


def test_checking_everything_counts_a_plugin_that_failed_to_load(capsys, monkeypatch):
    import harness.plugins
    from tests.helpers import make_host

    only_broken = make_host("tasks")
    only_broken.register(RaisingPlugin(), "raising")
    monkeypatch.setattr(harness.plugins, "_default_host", only_broken)

    assert main(["check"]) == 1
    captured = capsys.readouterr()
    assert "plugin 'raising' is broken and was skipped" in captured.err
    assert ("FAILED raising load: bench_register_cells raised RuntimeError: boom\n"
            "  fix: fix the plugin (`bench plugins` shows its errors)") in captured.out


def test_checking_a_plugin_that_failed_to_load_reports_its_failure(capsys, monkeypatch):
    import harness.plugins
    from tests.helpers import make_host

    monkeypatch.setattr(harness.plugins, "_default_host",
                        make_host("tasks", raising=RaisingPlugin()))

    assert main(["check", "--plugin", "raising"]) == 1
    out = capsys.readouterr().out
    assert "FAILED raising load: bench_register_cells raised RuntimeError: boom" in out
    assert out.splitlines()[-1].startswith("raising does not honour the plugin contract")


def test_an_unknown_cell_names_the_broken_plugin_that_may_have_provided_it(capsys, monkeypatch):
    import harness.plugins
    from tests.helpers import make_host

    monkeypatch.setattr(harness.plugins, "_default_host",
                        make_host("tasks", "torch", raising=RaisingPlugin()))

    assert main(["run", "--task", "copy", "--cells", "torch:mgu"]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("bench: error: unknown cell 'torch:mgu'")
    assert last.endswith("; plugin 'raising' is broken and may have provided it (`bench plugins` "
                         "says why)")


def test_at_80_columns_the_verdict_and_each_failure_stay_one_line(monkeypatch, faulty_host):
    """A log's last line is the verdict whole, not its wrapped end ("it): 10 passed, ...")."""
    from rich.console import Console

    from harness.commands import check

    narrow = Console(width=80, record=True, force_terminal=False)
    monkeypatch.setattr(check, "stdout", narrow)
    assert main(["check", "--cells", "faulty:swapped"]) == 1
    lines = narrow.export_text().splitlines()
    assert lines[-1] == ("faulty:swapped does not honour the plugin contract (the FAILED lines "
                         "say how to fix it): 10 passed, 1 failed, 1 skipped")
    assert ("FAILED faulty:swapped roundtrip: export_weights() does not return the weights just "
            "loaded") in lines
    assert not [line for line in lines if line != line.rstrip()]
