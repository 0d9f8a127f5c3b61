"""Named suites of runs: TOML files whose entries are the options of ``bench run``.

A suite file has an optional ``description`` (for its readers), a ``[defaults]`` table and
``[[runs]]`` tables. Each key is a ``bench run`` option without its dashes (``eval_every`` for
``--eval-every``); a list is comma-joined (``cells = ["torch:lstm", "torch:gru"]``), a table
repeats the option (``param = {tokens = 4}`` for ``--param tokens=4``) and ``true`` sets a
flag. Each ``[[runs]]`` entry, over the defaults, is parsed exactly as ``bench run`` parses
its command line, so a suite means what the same command would.

A suite may also state published findings for ``bench reproduce`` to check on its runs:
``[[claims]]``, ``expected_minutes`` and ``full_size`` (see :mod:`harness.reproduce`);
``bench run --suite`` runs such a suite like any other.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from harness.errors import UnknownNameError, UsageError
from harness.repeats import warnings_from

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

SUITES_DIR = Path("results") / "suites"
"""A project's own suites, looked up by name relative to the working directory first."""
PACKAGED_SUITES_DIR = Path(__file__).parent / "packaged_suites"
"""The suites bench ships (``ci``), found by name from any directory."""
EXECUTION_OPTIONS = frozenset({"out", "force", "json", "executor", "workers", "scheduler",
                               "timeout", "threads"})
"""Options of ``bench run`` that say where and how runs execute, not which: a suite
cannot set them and the command line may add them to a suite."""


REPRODUCE_KEYS = ("claims", "expected_minutes", "full_size")
"""Top-level keys read by :mod:`harness.reproduce`, not by ``bench run``."""
SUITE_KEYS = ("description", "defaults", "runs", *REPRODUCE_KEYS)
OPTION = re.compile(r"(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)")
"""A ``bench run`` option as an error message names it (``--eval-every``)."""
ARGUMENT = re.compile(r"^argument ([a-z_/]+): ")
"""argparse's naming of a bad value's option (``argument steps: ...``), once it is a key."""


@dataclass(frozen=True)
class Suite:
    path: Path
    runs: list[list[str]]
    """The ``bench run`` arguments of each entry."""
    description: str = ""
    findings: dict[str, Any] = field(default_factory=dict)
    """The :data:`REPRODUCE_KEYS` the file sets, as written."""


@dataclass(frozen=True)
class SuiteEntry:
    """One ``[[runs]]`` entry of a suite file, parsed as ``bench run`` parses its command
    line."""

    path: Path
    number: int
    """Its place in the file, from 1."""
    args: argparse.Namespace

    def naming_errors(self):
        """A context in which a UsageError (a bad value the entry's runs fail validation
        on) names the file and this entry."""
        return _naming_entry(self.path, self.number)


@contextmanager
def _naming_entry(path: Path, number: int) -> Iterator[None]:
    """Name the entry in errors and warnings, and each option as the file spells it
    (``eval_every``)."""
    try:
        with warnings_from(f"{path}: [[runs]] entry {number}"):
            yield
    except UsageError as exc:
        keys = OPTION.sub(lambda option: option[1].replace("-", "_"), str(exc))
        keys = ARGUMENT.sub(r"\1: ", keys)  # a key, not an argument
        # "bench: error:": the file and entry name the place, whichever command read them
        raise UsageError(f"{path}: [[runs]] entry {number}: {keys}") from None


def find_suite(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise UsageError(f"no such suite file: {name_or_path!r}")
        return path
    for directory in (SUITES_DIR, PACKAGED_SUITES_DIR):
        path = directory / f"{name_or_path}.toml"
        if path.is_file():
            return path
    raise UnknownNameError("suite", name_or_path,
                           (p.stem for p in [*SUITES_DIR.glob("*.toml"),
                                             *PACKAGED_SUITES_DIR.glob("*.toml")]),
                           where=f" in {SUITES_DIR}/ or bench's own")


def load_suite(name_or_path: str) -> Suite:
    path = find_suite(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: not a readable suite ({exc})") from None
    unknown = sorted(set(data) - set(SUITE_KEYS))
    if unknown:
        raise UsageError(f"{path}: unknown key {unknown[0]!r} (valid: {', '.join(SUITE_KEYS)})")
    runs, defaults = data.get("runs"), data.get("defaults", {})
    if not runs:
        raise UsageError(f"{path}: no [[runs]] entries")
    if not isinstance(runs, list) or not all(isinstance(entry, dict) for entry in runs):
        raise UsageError(f"{path}: 'runs' must be an array of tables ([[runs]] entries), "
                         f"got {runs!r}")
    if not isinstance(defaults, dict):
        raise UsageError(f"{path}: 'defaults' must be a table ([defaults]), got {defaults!r}")
    if not isinstance(data.get("description", ""), str):
        raise UsageError(f"{path}: 'description' must be a string")
    return Suite(path, [_arguments(path, {**defaults, **entry}) for entry in runs],
                 data.get("description", ""),
                 {key: data[key] for key in REPRODUCE_KEYS if key in data})


def suite_runs(args: argparse.Namespace, parse: Callable[[list[str]], argparse.Namespace]
               ) -> list[SuiteEntry]:
    """Each entry of the suite ``args.suite`` with its parsed ``bench run`` options.

    ``parse`` parses ``bench run`` arguments (the command passes its own parser, so this
    module needs nothing of the command line). Options on the command line that would change
    the runs conflict with the suite; the execution options (--out, --executor, ...) apply to
    every entry.
    """
    suite = load_suite(args.suite)
    defaults = vars(parse(["--suite", args.suite]))
    given = [f"--{key.replace('_', '-')}" for key, value in vars(args).items()
             if key in defaults and key not in EXECUTION_OPTIONS | {"suite"}
             and value != defaults[key]]
    if given:
        raise UsageError(f"--suite {args.suite} fixes the runs; drop {', '.join(given)} "
                         f"or edit {suite.path}")
    execution = {key: getattr(args, key) for key in EXECUTION_OPTIONS}
    choosing = [key for key in defaults if key not in EXECUTION_OPTIONS | {"suite"}]
    runs = []
    for number, argv in enumerate(suite.runs, 1):
        with _naming_entry(suite.path, number):
            for item, following in pairwise([*argv, "--"]):
                if not item.startswith("--"):
                    continue
                key = item[2:].replace("-", "_")
                if key not in choosing:
                    raise UnknownNameError("key", key, choosing)
                if isinstance(defaults[key], bool) and not following.startswith("--"):
                    raise UsageError(f"{key!r} takes true or false (a TOML boolean, "
                                     f"unquoted), got {following!r}")
            entry = parse(argv)
        runs.append(SuiteEntry(suite.path, number,
                               argparse.Namespace(**{**vars(entry), **execution})))
    return runs


def _arguments(path: Path, entry: dict[str, Any]) -> list[str]:
    argv = []
    for key, value in entry.items():
        if key in EXECUTION_OPTIONS | {"suite"}:
            raise UsageError(f"{path}: {key!r} cannot be set in a suite (valid: the options "
                             f"of bench run that choose runs)")
        option = f"--{key.replace('_', '-')}"
        if value is True:
            argv.append(option)
        elif isinstance(value, dict):
            for item in value.items():
                argv += [option, "=".join(map(str, item))]
        elif isinstance(value, list):
            argv += [option, ",".join(map(str, value))]
        elif value is not False:
            argv += [option, str(value)]
    return argv
