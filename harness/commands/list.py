"""``bench list``: tasks with their parameters, cells per backend, executors, plugins.

Listing must answer at once: it never imports a framework unless ``--devices`` asks which
devices each backend sees (that import alone takes seconds).
"""

from __future__ import annotations

import json

from rich.markup import escape
from rich.table import Table

from harness.display import stdout
from harness.formatting import plural
from harness.plugins import default_host, plugins_answer


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "list", help="show tasks, backends, cells and plugins",
        description="Show every task with its parameters and defaults, every backend with "
        "its availability (and why not) and its cells, the executors, and the plugins that "
        "provide them.",
    )
    p.add_argument("--devices", action="store_true", help="also probe the devices each "
                   "available backend can run on (imports the frameworks: takes seconds)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(execute=execute_command)


def inventory(host, devices: bool = False) -> dict:
    """Everything registered; ``devices`` lists each available backend's devices (slow)."""
    registry = host.registry
    return {
        "tasks": [
            {"name": t.name, "description": t.description, "plugin": t.plugin,
             "parameters": [{"name": p.name, "type": p.type.__name__, "default": p.default,
                             "help": p.help} for p in t.parameters]}
            for t in registry.tasks.values()
        ],
        "backends": [
            {"name": b.name, "framework": b.framework, "version": b.version,
             "available": b.available, "reason": b.reason, "plugin": b.plugin,
             **({"devices": b.list_devices() if b.available else []} if devices else {}),
             "cells": [c.name for c in registry.cells.values() if c.backend == b.name]}
            for b in registry.backends.values()
        ],
        "cells": [
            {"name": c.qualified_name, "fused": c.fused, "options": list(c.options),
             "description": c.description, "plugin": c.plugin,
             "available": c.backend in registry.backends
             and registry.backends[c.backend].available}
            for c in registry.cells.values()
        ],
        "executors": [
            {"name": e.name, "description": e.description, "plugin": e.plugin}
            for e in registry.executors.values()
        ],
        "plugins": [
            {"name": i.name, "version": i.version, "errors": i.errors}
            for i in host.plugins.values()
        ],
    }


def execute_command(args) -> int:
    host = default_host()
    data = inventory(host, devices=args.devices)
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    tasks = Table(title="tasks", title_justify="left")
    for column in ("task", "parameters (default)", "description"):
        tasks.add_column(column)
    for t in data["tasks"]:
        params = ", ".join(f"{p['name']}={p['default']}" for p in t["parameters"])
        tasks.add_row(t["name"], params, t["description"])
    stdout.print(tasks)

    backends = Table(title="backends and cells", title_justify="left")
    columns = ("backend", "version", "status", *(("devices",) if args.devices else ()), "cells")
    for column in columns:
        backends.add_column(column)
    for b in data["backends"]:
        status = ("[green]available[/]" if b["available"]
                  else f"[red]unavailable[/]: {escape(b['reason'])}")
        devices = (", ".join(b["devices"]) or "-",) if args.devices else ()
        backends.add_row(b["name"], b["version"] or "-", status, *devices, ", ".join(b["cells"]))
    stdout.print(backends)

    executors = Table(title="executors (bench run --executor NAME)", title_justify="left")
    for column in ("executor", "description"):
        executors.add_column(column)
    for e in data["executors"]:
        executors.add_row(e["name"], e["description"])
    stdout.print(executors)

    plugins = Table(title="plugins", title_justify="left")
    for column in ("plugin", "version", "status"):
        plugins.add_column(column)
    for p in data["plugins"]:
        status = "[red]error[/]: " + escape("; ".join(p["errors"])) if p["errors"] else "ok"
        plugins.add_row(p["name"], p["version"] or "-", status)
    stdout.print(plugins)
    stdout.print(inventory_answer(data) + " " + plugins_answer(list(host.plugins.values())),
                 markup=False, soft_wrap=True)
    return 0


def inventory_answer(data: dict) -> str:
    """What bench can run here, in one line: tasks, and the cells of the backends that are
    available (those that are not, with why)."""
    usable = [b for b in data["backends"] if b["available"]]
    cells = sum(len(b["cells"]) for b in usable)
    tasks = plural(len(data["tasks"]), "task")
    said = (f"bench can run {tasks} with {plural(cells, 'cell')} on "
            f"{plural(len(usable), 'backend')}"
            f" ({', '.join(b['name'] for b in usable)})." if usable
            else f"bench has {tasks} but no backend available to run them.")
    for b in data["backends"]:
        if not b["available"]:
            said += f" {b['name']} is unavailable: {b['reason'].rstrip('.')}."
    return said
