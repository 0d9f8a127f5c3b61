"""``bench list``: tasks with their parameters, cells per backend, executors, plugins.

Listing must answer at once: it never imports a framework unless ``--devices`` asks which
devices each backend sees (that import alone takes seconds).
"""

from __future__ import annotations

import json

from harness.catalogue import STANDARD_CELLS
from harness.display import stdout
from harness.formatting import plural
from harness.plugins import default_host, plugins_answer
from harness.render.terminal import to_rich
from harness.table_model import Column, Table, Toned


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


def _cell_names(registry, backend: str) -> list[str]:
    """A backend's cells, the standard ones first in the catalogue's order, so that every
    backend lists them alike whichever of its plugins registered first."""
    names = [c.name for c in registry.cells.values() if c.backend == backend]
    rank = {name: i for i, name in enumerate(STANDARD_CELLS)}
    return sorted(names, key=lambda name: rank.get(name, len(rank)))


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
             "cells": _cell_names(registry, b.name)}
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
    for table in inventory_tables(data, args.devices):
        stdout.print(to_rich(table))
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


def inventory_tables(data: dict, devices: bool) -> list[Table]:
    """The tasks, backends with their cells, executors and plugins of :func:`inventory`, as
    the other commands' tables (in parts where 80 columns cannot hold one whole)."""
    tasks = Table("tasks", [Column("task", fold=False), Column("parameters (default)"),
                            Column("description")])
    for t in data["tasks"]:
        params = ", ".join(f"{p['name']}={p['default']}" for p in t["parameters"])
        tasks.rows.append([t["name"], params, t["description"]])
    backends = Table("backends and cells", [
        Column("backend", fold=False), Column("version"), Column("status"),
        *([Column("devices")] if devices else []), Column("cells")])
    for b in data["backends"]:
        status = (Toned("available", "good") if b["available"]
                  else Toned(f"unavailable: {b['reason']}", "bad"))
        shown = [", ".join(b["devices"]) or "-"] if devices else []
        backends.rows.append([b["name"], b["version"] or "-", status, *shown,
                              ", ".join(b["cells"])])
    executors = Table("executors (bench run --executor NAME)",
                      [Column("executor", fold=False), Column("description")])
    executors.rows.extend([e["name"], e["description"]] for e in data["executors"])
    plugins = Table("plugins", [Column("plugin", fold=False), Column("version"),
                                Column("status")])
    for p in data["plugins"]:
        status = Toned("error: " + "; ".join(p["errors"]), "bad") if p["errors"] else "ok"
        plugins.rows.append([p["name"], p["version"] or "-", status])
    return [tasks, backends, executors, plugins]
