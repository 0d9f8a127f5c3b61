"""scripts/found_table.py turns the memory lengths of a real ``bench run --json`` search into
README's table: one row per cell, remembers and solves per task."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from harness.cli import main
from tests.helpers import TINY_RUN

SCRIPT = Path(__file__).parents[2] / "scripts" / "found_table.py"


def _script():
    spec = importlib.util.spec_from_file_location("found_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_has_a_row_per_cell_with_both_lengths_per_task(host, tmp_path, capsys):
    assert main(["run", "--task", "adding", "--cells", "torch:rnn", "--steps", "5",
                 "--budget", "10", "--out", str(tmp_path), "--json", "--threads", "1",
                 *TINY_RUN]) == 0
    memory = json.loads(capsys.readouterr().out)["memory"]
    (rnn,) = memory
    found = _script()
    lines = found.table({"adding": memory, "copy": []}).splitlines()
    assert lines[0] == ("| cell | adding: remembers | adding: solves | copy: remembers | "
                        "copy: solves |")
    assert len(lines) == 2 + len(found.CELLS)
    shown = [f"T={n}" if n else "none" for n in (rnn["remembers_up_to"], rnn["solves_up_to"])]
    assert f"| `torch:rnn` | {shown[0]} | {shown[1]} | - | - |" in lines
    assert "| `torch:lru` | - | - | - | - |" in lines
