"""``bench list``: tasks with their parameters, cells per backend, plugins."""

from __future__ import annotations

import json

from rich.markup import escape
from rich.table import Table

from harness.display import stdout
from harness.plugins import default_host


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "list", help="show tasks, backends, cells and plugins",
        description="Show every task with its parameters and defaults, every backend with "
        "its availability (and why not), its cells, and the plugins that provide them.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(execute=execute_command)


def inventory(host) -> dict:
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
             "devices": b.list_devices() if b.available else [],
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
        "plugins": [
            {"name": i.name, "version": i.version, "errors": i.errors}
            for i in host.plugins.values()
        ],
    }


def execute_command(args) -> int:
    data = inventory(default_host())
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
    for column in ("backend", "version", "status", "devices", "cells"):
        backends.add_column(column)
    for b in data["backends"]:
        status = ("[green]available[/]" if b["available"]
                  else f"[red]unavailable[/]: {escape(b['reason'])}")
        backends.add_row(b["name"], b["version"] or "-", status, ", ".join(b["devices"]) or "-",
                         ", ".join(b["cells"]))
    stdout.print(backends)

    plugins = Table(title="plugins", title_justify="left")
    for column in ("plugin", "version", "status"):
        plugins.add_column(column)
    for p in data["plugins"]:
        status = "[red]error[/]: " + escape("; ".join(p["errors"])) if p["errors"] else "ok"
        plugins.add_row(p["name"], p["version"] or "-", status)
    stdout.print(plugins)
    return 0
