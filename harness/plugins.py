"""Plugin loading: the ``bench`` entry-point group, isolation of broken plugins, registry.

Rules (docs/architecture.md §2): a plugin that fails to import or raises in a hook is recorded with
its error and everything else keeps working (``BENCH_STRICT_PLUGINS=1`` makes that fatal);
two plugins claiming one name is an error naming both; ``BENCH_PLUGINS=a,b`` limits which
entry points load.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

import pluggy

from harness import PROJECT_NAME, builtin_executors, hookspecs
from harness.errors import BenchError, PluginLoadError
from harness.registry import Registry

ENTRY_POINT_GROUP = "bench"
HOOKS = ("bench_register_backends", "bench_register_cells", "bench_register_tasks",
         "bench_register_executors")


@dataclass
class PluginInfo:
    name: str
    distribution: str = ""
    version: str = ""
    hooks: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)
    load_error: str = ""
    hook_errors: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return ([self.load_error] if self.load_error else []) + self.hook_errors


def plugins_answer(infos: Collection[PluginInfo]) -> str:
    """Whether every plugin loaded, in one sentence: the last words of ``bench list`` and
    ``bench plugins``. A plugin with an error either was skipped (nothing of it registered)
    or loaded in part (only what failed was dropped, e.g. a duplicate name)."""
    skipped = [info.name for info in infos if info.errors and not info.registered]
    partly = [info.name for info in infos if info.errors and info.registered]
    if not skipped and not partly:
        return f"All {len(infos)} plugins loaded."
    were = "was" if len(skipped) == 1 else "were"
    said = [f"{len(skipped)} failed and {were} skipped ({', '.join(skipped)})"] if skipped else []
    said += [f"{len(partly)} loaded in part ({', '.join(partly)})"] if partly else []
    return f"Of {len(infos)} plugins, {' and '.join(said)}; `bench plugins` says why."


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _strict() -> bool:
    return os.environ.get("BENCH_STRICT_PLUGINS", "") not in ("", "0")


def _allowed_names() -> set[str] | None:
    raw = os.environ.get("BENCH_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


class PluginHost:
    """A pluggy manager plus the bookkeeping bench needs about each plugin."""

    def __init__(self, discover: bool = True, entry_points_: Iterable[EntryPoint] | None = None):
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._registry: Registry | None = None
        self.register(builtin_executors, "bench-executors")
        if discover:
            self.load_entry_points(
                entry_points(group=ENTRY_POINT_GROUP) if entry_points_ is None else entry_points_
            )

    def load_entry_points(self, eps: Iterable[EntryPoint]) -> None:
        allowed = _allowed_names()
        for ep in eps:
            if allowed is not None and ep.name not in allowed:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                distribution=dist.name if dist else "",
                version=dist.version if dist else "",
            )
            try:
                module = ep.load()
            except (Exception, SystemExit) as exc:  # any import-time failure is the plugin's
                self._fail(info, f"failed to load {ep.value!r}: {_describe(exc)}", loading=True)
                self._keep(ep.name, info)
                continue
            self.register(module, ep.name, info)
        self._fail_if_strict()

    def register(self, plugin: object, name: str, info: PluginInfo | None = None) -> None:
        """Register a plugin object (a module or an instance with hookimpls)."""
        info = info or PluginInfo(name=name)
        if name in self.plugins:
            taken = self.plugins[name].distribution or "bench"
            self._fail(info, f"its entry point's name {name!r} is taken by {taken!r}; give "
                       "it another name in the [project.entry-points.bench] table of its "
                       "pyproject.toml", loading=True)
            self._keep(name, info)
            return
        problem = _signature_problem(plugin)
        try:
            self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            self._fail(info, problem or f"cannot register: {_describe(exc)}", loading=True)
            self._keep(name, info)
            return
        self.plugins[name] = info
        self._registry = None
        unknown = self._unknown_hooks(plugin)
        if unknown:
            self.pm.unregister(plugin)
            self._fail(info, f"unknown hook {unknown}", loading=True)
            return
        info.hooks = sorted(
            caller.name for caller in self.pm.get_hookcallers(plugin) or []
        )
        unmarked = [hook for hook in HOOKS
                    if callable(getattr(plugin, hook, None)) and hook not in info.hooks]
        if unmarked:
            self._fail(info, f"{', '.join(unmarked)} not marked @harness.hookimpl, so bench "
                       "never calls it", loading=True)

    def _keep(self, name: str, info: PluginInfo) -> None:
        """Keep a failed plugin's info, under its distribution too when its name is taken."""
        taken = name in self.plugins
        self.plugins[f"{name} ({info.distribution or 'unknown distribution'})" if taken
                     else name] = info

    def _unknown_hooks(self, plugin: object) -> str:
        """The plugin's hook implementations that match no bench hook (a misspelt name is
        otherwise registered silently and never called), described; "" when there are none."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if exc.plugin is not plugin:
                raise
            names = [c.name for c in self.pm.get_hookcallers(plugin) or [] if not c.has_spec()]
            hints = [difflib.get_close_matches(n, HOOKS, n=1) for n in names]
            return ", ".join(f"{n!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
                             for n, h in zip(names, hints, strict=True)) + \
                f" (bench's hooks: {', '.join(HOOKS)})"
        return ""

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.plugins.pop(name, None)
        self._registry = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            registry = self._build_registry()
            self._fail_if_strict()
            self._registry = registry
        return self._registry

    def load_errors(self) -> dict[str, list[str]]:
        return {name: info.errors for name, info in self.plugins.items() if info.errors}

    def _build_registry(self) -> Registry:
        registry = Registry()
        for info in self.plugins.values():
            info.registered.clear()
            info.hook_errors.clear()
        adders: dict[str, Callable] = {
            "bench_register_backends": registry.add_backend,
            "bench_register_cells": registry.add_cell,
            "bench_register_tasks": registry.add_task,
            "bench_register_executors": registry.add_executor,
        }
        for hook_name in HOOKS:
            add = adders[hook_name]
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                self._call(impl, hook_name, add)
        for cell in registry.orphan_cells():
            registry.remove_cell(cell)
            info = self.plugins[cell.plugin]
            info.registered.remove(_entry_label(cell))
            allowed = os.environ.get("BENCH_PLUGINS")
            remedy = (f"BENCH_PLUGINS={allowed} leaves its plugin out: add it there"
                      if allowed is not None else "install the plugin that provides it")
            close = difflib.get_close_matches(cell.backend, registry.backends, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self._fail(info, f"cell {cell.qualified_name!r} names backend {cell.backend!r}, "
                       f"which no plugin provides{hint} (backends: "
                       f"{', '.join(sorted(registry.backends)) or 'none'}; or {remedy})")
        return registry

    def _call(self, impl: pluggy.HookImpl, hook_name: str, add: Callable) -> None:
        """Call one plugin's hook; keep its entries only if the whole call succeeds."""
        plugin_name = impl.plugin_name
        info = self.plugins.setdefault(plugin_name, PluginInfo(name=plugin_name))
        staged: list = []
        try:
            impl.function(**{"register": staged.append} if "register" in impl.argnames else {})
        except (Exception, SystemExit) as exc:
            self._fail(info, f"{hook_name} raised {_describe(exc)}")
            return
        for entry in staged:
            try:
                add(entry, plugin_name)
            except (BenchError, TypeError) as exc:
                self._fail(info, str(exc))
                continue
            info.registered.append(_entry_label(entry))

    def _fail(self, info: PluginInfo, message: str, loading: bool = False) -> None:
        if loading:
            info.load_error = message
        else:
            info.hook_errors.append(message)

    def _fail_if_strict(self) -> None:
        """Under ``BENCH_STRICT_PLUGINS=1``, every plugin error so far in one failure."""
        errors = [f"plugin {name!r}: {error}" for name, found in self.load_errors().items()
                  for error in found]
        if _strict() and errors:
            raise PluginLoadError("; ".join(errors))


def _signature_problem(plugin: object) -> str:
    """A hook implementation whose parameters are not bench's (``register``), described;
    "" when there is none. pluggy refuses such a plugin with a message about its internals."""
    for hook in HOOKS:
        function = getattr(plugin, hook, None)
        if not callable(function):
            continue
        try:
            parameters = list(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            continue
        if set(parameters) - {"register"}:
            return (f"{hook} takes one parameter named 'register', not "
                    f"{', '.join(map(repr, parameters))}")
    return ""


def _entry_label(entry: object) -> str:
    qualified = getattr(entry, "qualified_name", None)
    kind = type(entry).__name__.lower().replace("definition", "")
    return f"{kind} {qualified or entry.name}"


_default_host: PluginHost | None = None


def default_host() -> PluginHost:
    """The process-wide host, loading the ``bench`` entry points on first use."""
    global _default_host
    if _default_host is None:
        _default_host = PluginHost()
    return _default_host


def failed_plugins_note() -> str:
    """After an unknown name: the broken plugins of this process, which may have brought it
    ("" when none is, or none were loaded)."""
    if _default_host is None:
        return ""
    broken = [name for name, info in _default_host.plugins.items() if info.errors]
    if not broken:
        return ""
    return (f"; {'plugins' if len(broken) > 1 else 'plugin'} {', '.join(map(repr, broken))} "
            f"{'are' if len(broken) > 1 else 'is'} broken and may have provided it (`bench "
            f"plugins` says why)")
