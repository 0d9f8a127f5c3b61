import json
import os
import re
import subprocess
import sys

from harness.cli import main
from tests.helpers import frameworks_imported_by


def test_list_shows_tasks_with_defaults_backends_executors_and_plugins(capsys, host):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "length=100" in out and "copy" in out and "adding" in out
    assert "rnn, lnrnn, lstm, gru" in out and "available" in out
    assert all(re.search(rf"^{name} +\w", out, re.M) for name in ("local", "process", "dask"))
    assert "devices" not in out
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (torch_backend,) = data["backends"]
    assert out.splitlines()[-1] == (  # it ends with what bench can run here
        f"bench can run {len(data['tasks'])} tasks with {len(torch_backend['cells'])} cells on "
        f"1 backend (torch). All {len(data['plugins'])} plugins loaded.")


def test_every_backend_lists_the_standard_cells_first_in_one_order(capsys, monkeypatch):
    """Whichever plugin registered first: here the long-memory cells' plugin."""
    import importlib

    import harness.plugins
    from harness.plugins import PluginHost

    host = PluginHost(discover=False)
    host.register(importlib.import_module("bench_longmem.plugin").torch_cells, "longmem_torch")
    for name in ("tasks", "torch"):
        host.register(importlib.import_module(f"bench_{name}.plugin"), name)
    assert next(iter(host.registry.cells.values())).name not in ("rnn", "lnrnn", "lstm", "gru")
    monkeypatch.setattr(harness.plugins, "_default_host", host)
    assert main(["list", "--json"]) == 0
    (torch_backend,) = json.loads(capsys.readouterr().out)["backends"]
    assert torch_backend["cells"][:4] == ["rnn", "lnrnn", "lstm", "gru"]
    assert len(torch_backend["cells"]) > 4


def test_at_80_columns_the_lists_fit_and_end_no_line_in_spaces(monkeypatch, host):
    """As the other commands' tables: plain rules, names whole, descriptions wrapped."""
    from rich.cells import cell_len
    from rich.console import Console

    from harness.commands import list as list_command

    narrow = Console(width=80, record=True, force_terminal=False)
    monkeypatch.setattr(list_command, "stdout", narrow)
    assert main(["list"]) == 0
    *tables, answer = narrow.export_text().splitlines()
    assert max(map(cell_len, tables)) <= 80
    assert [line for line in tables if line != line.rstrip()] == []
    assert "selective_copy length=100, tokens=8" in "\n".join(tables)
    assert answer.startswith("bench can run ")


def test_list_json(capsys, host):
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    copy = next(t for t in data["tasks"] if t["name"] == "copy")
    assert copy["parameters"] == [{"name": "length", "type": "int", "default": 100,
                                   "help": copy["parameters"][0]["help"]}]
    (torch_backend,) = data["backends"]
    assert torch_backend["available"] and "devices" not in torch_backend
    assert [e["name"] for e in data["executors"]] == ["local", "process", "dask"]


def test_devices_are_probed_only_when_asked(capsys, host):
    assert main(["list", "--json", "--devices"]) == 0
    (torch_backend,) = json.loads(capsys.readouterr().out)["backends"]
    assert torch_backend["devices"][-1] == "cpu"


def test_listing_imports_no_framework():
    """What makes `bench list` answer in well under a second: no framework is imported."""
    code = "from harness.cli import main\nassert main(['list', '--json']) == 0"
    assert frameworks_imported_by(code) == []


def test_no_arguments_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "bench" in capsys.readouterr().out


def test_without_tensorflow_keras_is_unavailable_and_torch_still_works(tmp_path):
    """Equivalent of an environment without TensorFlow: the import system cannot find it."""
    script = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "from harness.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )

    def bench(*args):
        return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                              text=True, timeout=300, env=environment)

    environment = {k: v for k, v in os.environ.items() if k != "BENCH_PLUGINS"}

    listing = bench("list", "--json")
    assert listing.returncode == 0, listing.stderr
    keras = next(b for b in json.loads(listing.stdout)["backends"] if b["name"] == "keras")
    assert not keras["available"]
    assert "TensorFlow" in keras["reason"] and "pip install" in keras["reason"]
    said = bench("list").stdout.splitlines()[-1]
    assert " on 1 backend (torch). keras is unavailable: TensorFlow is not installed" in said

    refused = bench("run", "--task", "copy", "--cells", "keras:lstm", "--out", str(tmp_path))
    assert refused.returncode == 2
    assert refused.stderr.startswith("bench: error: backend 'keras' is unavailable: ")

    ran = bench("run", "--task", "adding", "--cells", "lstm", "--length", "4", "--steps", "3",
                "--hidden", "4", "--batch", "4", "--eval-size", "8", "--out", str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert "torch:lstm" in ran.stdout and "keras:lstm" not in ran.stdout
