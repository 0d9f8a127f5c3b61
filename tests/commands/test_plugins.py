import json
import os
import re
import subprocess
import textwrap
from dataclasses import asdict

import pytest

from harness import hookimpl
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
    *narrow, answer = bench("plugins", env={**env, "COLUMNS": "80"}).stdout.splitlines()
    assert answer == table.stdout.splitlines()[-1]  # the answer is one line, as wide as it is
    assert max(map(len, narrow)) <= 80
    assert_whole_on_a_line(narrow, plugins.values())
    error = next(n for n, x in enumerate(narrow) if "failed to load" in x)
    column = narrow[error].index("failed to load")  # the error wraps within its column
    assert " ".join(x[column:].strip() for x in narrow[error:error + 2]) == bad["errors"][0]

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


@pytest.mark.parametrize("width", [60, 76, 80])
def test_a_narrow_plugins_table_wraps_and_cuts_nothing(monkeypatch, width):
    """Every built-in plugin: nothing cut to an ellipsis, no line too wide, and neither a
    hook name nor an entry broken where the table is narrower than its natural 80."""
    from rich.console import Console

    import harness.plugins
    from harness.commands import plugins
    from tests.helpers import make_host

    host = make_host()
    monkeypatch.setattr(harness.plugins, "_default_host", host)
    narrow = Console(width=width, record=True, force_terminal=False)
    monkeypatch.setattr(plugins, "stdout", narrow)
    assert main(["plugins"]) == 0
    text = narrow.export_text()
    assert "…" not in text and max(map(len, text.splitlines())) <= width
    infos = [asdict(info) for info in host.plugins.values()]
    assert_whole_on_a_line(text.splitlines(), infos)


def test_the_installed_plugins_at_80_columns_keep_each_name_on_one_line():
    """``COLUMNS=80 bench plugins | cat`` with the plugins bench-harness installs: the
    audit's case, where ``bench_register_executors`` and ``cell keras:lnrnn`` broke."""
    env = {k: v for k, v in os.environ.items() if k != "BENCH_PLUGINS"}
    shown = subprocess.run([BENCH, "plugins"], capture_output=True, text=True, timeout=300,
                           env={**env, "COLUMNS": "80"})
    listed = subprocess.run([BENCH, "plugins", "--json"], capture_output=True, text=True,
                            timeout=300, env=env)
    assert shown.returncode == 0 and listed.returncode == 0, shown.stderr + listed.stderr
    *table, _ = shown.stdout.splitlines()
    assert max(map(len, table)) <= 80
    assert_whole_on_a_line(table, json.loads(listed.stdout))


def assert_whole_on_a_line(lines: list[str], plugins) -> None:
    """Each plugin's hook names (``bench_register_executors``, 24 characters) and registered
    entries (``cell torch:lnrnn``) on one line, as the README promises names are: a
    narrow table prints in parts rather than break them."""
    for plugin in plugins:
        for entry in [*plugin["hooks"], *plugin["registered"]]:
            assert any(re.search(rf"(^| ){re.escape(entry)}( |$)", line) for line in lines), (
                entry, "\n".join(lines))


def test_a_reader_that_stops_early_gets_no_traceback():
    """``bench plugins --json | head -c 1``: the pipe closes before bench writes."""
    process = subprocess.Popen([BENCH, "plugins", "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "BENCH_PLUGINS": "tasks,torch"})
    process.stdout.close()  # before bench has imported anything, let alone written
    _, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (1, "")


class VerbosePlugin:
    """Fails with a message of several lines, as some libraries' import errors do."""

    @hookimpl
    def bench_register_cells(self, register):
        raise ImportError("needs libfoo 9 \n\n  Check that libfoo is installed: \n"
                          "  pip install libfoo\n")


def test_a_plugins_error_of_several_lines_is_warned_in_one_line(capsys, monkeypatch):
    import harness.plugins
    from tests.helpers import make_host

    host = make_host("tasks")
    host.register(VerbosePlugin(), "verbose")
    monkeypatch.setattr(harness.plugins, "_default_host", host)
    assert main(["check", "--tasks", "copy"]) == 0
    assert capsys.readouterr().err == (
        "bench: warning: plugin 'verbose' is broken and was skipped: bench_register_cells "
        "raised ImportError: needs libfoo 9 Check that libfoo is installed: pip install "
        "libfoo (see `bench plugins`)\n")
