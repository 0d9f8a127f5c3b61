"""``bench plugins``: each loaded plugin, its hooks, what it registered and its errors."""

from __future__ import annotations

import json
from dataclasses import asdict

from rich.markup import escape
from rich.table import Table

from harness.display import stdout
from harness.plugins import default_host, plugins_answer


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
    table = Table(title="plugins", title_justify="left")
    for column in ("plugin", "distribution", "hooks", "registered", "errors"):
        table.add_column(column, overflow="fold")  # a narrow terminal wraps, never cuts
    for info in infos:
        table.add_row(
            info.name,
            f"{info.distribution} {info.version}".strip() or "-",
            "\n".join(info.hooks) or "-",
            "\n".join(info.registered) or "-",
            f"[red]{escape(chr(10).join(info.errors))}[/]" if info.errors else "-",
        )
    stdout.print(table)
    stdout.print(plugins_answer(infos), markup=False, soft_wrap=True)
    return 0
