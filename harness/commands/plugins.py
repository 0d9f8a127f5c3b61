"""``bench plugins``: each loaded plugin, its hooks, what it registered and its errors."""

from __future__ import annotations

import json
from dataclasses import asdict

from harness.display import stdout
from harness.plugins import PluginInfo, default_host, plugins_answer
from harness.render.terminal import to_rich
from harness.table_model import Column, Table, Toned


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "plugins", help="show loaded plugins, their hooks, registrations and load errors",
        description="Every plugin in the `bench` entry-point group (limited by BENCH_PLUGINS), "
        "with its distribution version, the hooks it implements, what it registered, and any "
        "error that isolated it.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(execute=execute_command)


def execute_command(args) -> int:
    host = default_host()
    host.registry  # registration fills in what each plugin registered  # noqa: B018
    infos = list(host.plugins.values())
    if args.json:
        print(json.dumps([{**asdict(i), "errors": i.errors} for i in infos], indent=1))
        return 0
    stdout.print(to_rich(plugins_table(infos)))
    stdout.print(plugins_answer(infos), markup=False, soft_wrap=True)
    return 0


def plugins_table(infos: list[PluginInfo]) -> Table:
    """One row a plugin, one line a hook or registered entry. Hook names and entries
    (``cell torch:lstm``) never wrap, as names do not; a table too wide for the terminal is
    printed in parts, each with the plugin's name. The version and the errors wrap at spaces."""
    table = Table("plugins", [Column("plugin", fold=False), Column("distribution"),
                              Column("hooks", fold=False), Column("registered", fold=False),
                              Column("errors")])
    for info in infos:
        table.rows.append([
            info.name,
            f"{info.distribution} {info.version}".strip() or "-",
            "\n".join(info.hooks) or "-",
            "\n".join(info.registered) or "-",
            Toned("\n".join(info.errors), "bad") if info.errors else "-",
        ])
    return table
