"""``bench check``: do backends, their cells and tasks honour bench's plugin contract?

The conformance kit (:mod:`harness.conformance`) from the command line, for someone
writing a plugin: one command that says what is wrong and how to fix it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from harness.conformance import DEFAULT_TASK, CheckResult, plan_checks, plan_task_checks
from harness.display import stderr, stdout, warn_plugin_errors
from harness.errors import UnknownNameError, UsageError
from harness.plugins import PluginHost, default_host
from harness.render.terminal import to_rich
from harness.table_model import Column, Table, Tone, Toned

TONE: dict[str, Tone] = {"passed": "good", "failed": "bad", "skipped": "warning"}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="check that backends, cells and tasks honour the plugin contract",
        description="Run the conformance kit on tiny sizes on the CPU: each backend's own "
        "checks (available, devices, probe), then each of its cells' (construct, forward, "
        "deterministic, gradients, roundtrip, options, record, reference), then each task's "
        "(parameters, batch, deterministic, baseline, chance, headline, length). A failure "
        "names the cell or task, the check and how to fix it. Without --backend, --cells, "
        "--tasks or --plugin every installed plugin is checked, and one that failed to load "
        "is a failure too.",
        epilog="Exit codes: 0 no check failed, 1 a check failed, 2 usage error. "
        "Guide: docs/plugins.md.",
    )
    p.add_argument("--backend", help="only this backend and its cells")
    p.add_argument("--cells", type=lambda raw: raw.split(","),
                   help="comma-separated cells, e.g. peephole or torch:peephole (an "
                   "unqualified name means that cell in every available backend)")
    p.add_argument("--tasks", type=lambda raw: raw.split(","),
                   help="comma-separated tasks to check, e.g. copy,adding")
    p.add_argument("--plugin", help="everything this plugin registered: its backends, "
                   "cells and tasks (the name `bench plugins` shows)")
    p.add_argument("--task", help=f"task of the record check's tiny run (default: "
                   f"{DEFAULT_TASK})")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(execute=execute_command)


def execute_command(args) -> int:
    host = default_host()
    registry = host.registry  # building it runs the hooks, whose errors the warning names
    warn_plugin_errors(host)
    if args.task is not None:
        registry.task(args.task)
    everything = not (args.backend or args.cells or args.tasks or args.plugin)
    backend, cells, tasks = args.backend, args.cells, args.tasks
    if args.plugin is not None:
        cells, tasks = plugin_selection(host, args.plugin)
    planned = []
    if everything or backend or cells:
        planned += plan_checks(registry, backend, cells, args.task or DEFAULT_TASK)
    if everything or tasks:
        planned += plan_task_checks(registry, tasks)
    results = (load_failures(host) if everything else
               load_failures(host, args.plugin) if args.plugin is not None else [])
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    # Only on a terminal: elsewhere rich's progress, transient or not, ends with an empty line.
    with Progress(*columns, console=stderr, transient=True,
                  disable=not stderr.is_terminal) as progress:
        bar = progress.add_task("checks", total=len(planned))
        for check in planned:
            progress.update(bar, description=f"{check.subject} {check.check.name}")
            results.append(check.run())
            progress.advance(bar)
    counts = Counter(r.outcome for r in results)
    if args.json:
        print(json.dumps({"ok": not counts["failed"], "counts": dict(counts),
                          "results": [r.to_dict() for r in results]}, indent=1))
    else:
        stdout.print(to_rich(results_table(results)))
        for result in results:
            if result.failed:
                stdout.print(f"[red]FAILED[/] {escape(result.describe())}", soft_wrap=True)
        summary = ", ".join(f"{counts[o]} {o}" for o in TONE if counts[o])
        stdout.print(f"[{'red' if counts['failed'] else 'green'}]{escape(verdict(results))}: "
                     f"{summary}[/]", soft_wrap=True)
    return 1 if counts["failed"] else 0


def verdict(results: list[CheckResult]) -> str:
    """Who honours the plugin contract, or who does not: the command's answer."""
    failing = _subjects(r for r in results if r.failed)
    if failing:
        return (f"{_listed(failing)} {'does' if len(failing) == 1 else 'do'} not honour the "
                "plugin contract (the FAILED lines say how to fix it)")
    checked = _subjects(results)
    return f"{_listed(checked)} {'honours' if len(checked) == 1 else 'honour'} the plugin contract"


def _subjects(results: Iterable[CheckResult]) -> list[str]:
    """The backends, cells and tasks checked, a cell's kernel paths as the cell."""
    return list(dict.fromkeys(r.subject.split("/")[0] for r in results))


def _listed(subjects: list[str]) -> str:
    return ", ".join(subjects) if len(subjects) <= 4 else (
        f"{len(subjects)} backends, cells and tasks ({', '.join(subjects[:3])}, ...)")


def plugin_selection(host: PluginHost, plugin: str) -> tuple[list[str], list[str]]:
    """The qualified cells and the tasks ``plugin`` registered, with the cells of the
    backends it registered."""
    registry = host.registry
    if plugin not in host.plugins:
        raise UnknownNameError("plugin", plugin, host.plugins)
    backends = {b.name for b in registry.backends.values() if b.plugin == plugin}
    cells = [c.qualified_name for c in registry.cells.values()
             if c.plugin == plugin or c.backend in backends]
    tasks = [t.name for t in registry.tasks.values() if t.plugin == plugin]
    if not cells and not tasks and not host.plugins[plugin].errors:
        raise UsageError(f"plugin {plugin!r} registered no cell or task to check")
    return cells, tasks


def load_failures(host: PluginHost, plugin: str | None = None) -> list[CheckResult]:
    """A failed ``load`` result for each plugin the loader isolated (or for ``plugin``)."""
    return [
        CheckResult(name, "load", "failed", "; ".join(errors),
                    "fix the plugin (`bench plugins` shows its errors), or leave it out "
                    "with BENCH_PLUGINS")
        for name, errors in host.load_errors().items() if plugin in (None, name)
    ]


def results_table(results: list[CheckResult]) -> Table:
    table = Table("conformance", [Column("subject", fold=False), Column("check"),
                                  Column("result"), Column("detail")])
    previous = None
    for r in results:
        table.rows.append(["" if r.subject == previous else r.subject, r.check,
                           Toned(r.outcome, TONE[r.outcome]), r.message])
        previous = r.subject
    return table
