"""The task example of docs/plugins.md is a working plugin: it passes the task kit."""

from __future__ import annotations

import types
from pathlib import Path

from harness.conformance import plan_task_checks
from tests.helpers import make_host

PLUGINS_DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _example_module() -> types.ModuleType:
    text = PLUGINS_DOC.read_text()
    start = text.index("```python\n", text.index("A minimal one, recall the first")) + 10
    source = text[start:text.index("\n```", start)]
    module = types.ModuleType("first_bit_example")
    exec(compile(source, str(PLUGINS_DOC), "exec"), module.__dict__)  # noqa: S102
    return module


def test_the_documented_task_passes_the_task_kit():
    host = make_host("tasks", first_bit=_example_module())
    assert host.plugins["first_bit"].errors == []
    results = [check.run() for check in plan_task_checks(host.registry, ["first_bit"])]
    assert len(results) == 7
    assert [r.describe() for r in results if r.outcome != "passed"] == []
