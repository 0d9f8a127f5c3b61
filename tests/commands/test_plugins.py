import json
import os
import subprocess
import textwrap

import pytest

from harness.cli import main
from tests.conftest import BENCH


@pytest.fixture
def fake_distributions(tmp_path):
    """Two installed distributions declaring `bench` entry points: one good, one broken.

    They are real ``.dist-info`` directories on PYTHONPATH, found by importlib.metadata the
    way an installed plugin package is.
    """
    for name, module, body in [
        ("bench_goodplugin", "bench_goodplugin", """
            from harness import hookimpl
            from harness.tasks import TaskDefinition
            from bench_tasks import adding

            @hookimpl
            def bench_register_tasks(register):
                register(TaskDefinition("adding_again", "adding, from a plugin",
                                        (adding.LENGTH,), adding.AddingTask))
         """),
        ("bench_badplugin", "bench_badplugin", "raise ImportError('needs libfoo 9')\n"),
    ]:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(body))
        info = tmp_path / f"{name}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
        (info / "entry_points.txt").write_text(f"[bench]\n{name} = {module}\n")
    return tmp_path


def test_plugins_report_hooks_registrations_and_isolated_errors(bench, fake_distributions):
    env = {"PYTHONPATH": str(fake_distributions),
           "BENCH_PLUGINS": "tasks,torch,bench_goodplugin,bench_badplugin"}
    result = bench("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    good, bad = plugins["bench_goodplugin"], plugins["bench_badplugin"]
    assert (good["distribution"], good["version"]) == ("bench_goodplugin", "1.2.3")
    assert good["hooks"] == ["bench_register_tasks"]
    assert good["registered"] == ["task adding_again"] and good["errors"] == []
    assert bad["errors"] == ["failed to load 'bench_badplugin': ImportError: needs libfoo 9"]
    assert "cell torch:lstm" in plugins["torch"]["registered"]
    table = bench("plugins", env=env)
    assert table.stdout.splitlines()[-1] == (f"Of {len(plugins)} plugins, 1 failed and was "
                                             "skipped (bench_badplugin); `bench plugins` says "
                                             "why.")

    # the broken plugin is reported on every command, and everything else still works
    ran = bench("run", "--task", "adding_again", "--cells", "rnn", "--length", "3",
                "--steps", "2", "--hidden", "4", "--batch", "4", "--eval-size", "8",
                "--out", str(fake_distributions / "out"), env=env)
    assert ran.returncode == 0, ran.stderr
    assert "plugin 'bench_badplugin' is broken and was skipped" in ran.stderr

    strict = bench("list", env={**env, "BENCH_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1
    assert strict.stderr.strip() == ("bench: error: plugin 'bench_badplugin': failed to load "
                                     "'bench_badplugin': ImportError: needs libfoo 9")


def test_plugins_table(capsys, host):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "bench_register_cells" in out and "cell torch:gru" in out


def test_plugins_table_at_80_columns_wraps_and_cuts_nothing(monkeypatch, host):
    """A plugin's hooks and load errors folded onto more lines, never cut to an ellipsis."""
    from rich.console import Console

    from harness.commands import plugins

    narrow = Console(width=80, record=True, force_terminal=False)
    monkeypatch.setattr(plugins, "stdout", narrow)
    assert main(["plugins"]) == 0
    text = narrow.export_text()
    assert "…" not in text and max(map(len, text.splitlines())) <= 80


def test_a_reader_that_stops_early_gets_no_traceback():
    """``bench plugins --json | head -c 1``: the pipe closes before bench writes."""
    process = subprocess.Popen([BENCH, "plugins", "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "BENCH_PLUGINS": "tasks,torch"})
    process.stdout.close()  # before bench has imported anything, let alone written
    _, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (1, "")
