from importlib.metadata import EntryPoint

import pytest

from harness import hookimpl
from harness.errors import PluginLoadError, UnknownNameError
from harness.plugins import PluginHost
from harness.registry import Backend, Cell
from harness.tasks import TaskDefinition
from tests.helpers import make_host


class DuplicateCopyTask:
    """A test plugin that claims a task name the built-in suite already has."""

    @hookimpl
    def bench_register_tasks(self, register):
        from bench_tasks import copy

        register(TaskDefinition("copy", "an impostor", (copy.LENGTH,), copy.CopyTask))


class RaisingCells:
    @hookimpl
    def bench_register_cells(self, register):
        raise RuntimeError("cells exploded")


class ExtraTask:
    @hookimpl
    def bench_register_tasks(self, register):
        from bench_tasks import adding

        register(TaskDefinition("adding2", "adding again", (adding.LENGTH,), adding.AddingTask))


@pytest.fixture
def extra_plugin(host):
    host.register(ExtraTask(), "extra")
    yield host
    host.unregister("extra")


def test_builtins_register_tasks_backend_and_cells(host):
    registry = host.registry
    assert {"copy", "adding"} <= set(registry.tasks)
    assert registry.backends["torch"].plugin == "torch"
    assert {("torch", n) for n in ("rnn", "lnrnn", "lstm", "gru")} <= set(registry.cells)
    assert "task copy" in host.plugins["tasks"].registered
    assert host.plugins["torch"].hooks == ["bench_register_backends", "bench_register_cells"]


def test_registered_test_plugin_is_visible_then_gone(extra_plugin):
    assert extra_plugin.registry.tasks["adding2"].plugin == "extra"
    extra_plugin.unregister("extra")
    assert "adding2" not in extra_plugin.registry.tasks
    extra_plugin.register(ExtraTask(), "extra")  # so the fixture can unregister


def test_duplicate_name_is_an_error_naming_both_plugins(host):
    host.register(DuplicateCopyTask(), "impostor")
    registry = host.registry
    assert registry.tasks["copy"].plugin == "tasks"  # the first claim is kept, not overwritten
    (error,) = host.plugins["impostor"].errors
    assert "'tasks'" in error and "'impostor'" in error and "copy" in error


def test_hook_that_raises_is_isolated(host):
    host.register(RaisingCells(), "raiser")
    registry = host.registry
    assert host.plugins["raiser"].errors == ["bench_register_cells raised RuntimeError: cells "
                                             "exploded"]
    assert ("torch", "lstm") in registry.cells


def test_strict_mode_turns_plugin_errors_into_failures(host, monkeypatch):
    monkeypatch.setenv("BENCH_STRICT_PLUGINS", "1")
    host.register(RaisingCells(), "raiser")
    with pytest.raises(PluginLoadError, match="raiser.*cells exploded"):
        host.registry  # noqa: B018


def test_strict_mode_names_every_broken_plugin_at_once(monkeypatch):
    monkeypatch.setenv("BENCH_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError) as failure:
        PluginHost(entry_points_=_entry_points(
            ("tasks", "bench_tasks.plugin"), ("broken", "bench_no_such_module_xyz.plugin"),
            ("gone", "bench_no_such_module_abc.plugin")))
    assert str(failure.value).count("ModuleNotFoundError") == 2
    assert str(failure.value).startswith("plugin 'broken': failed to load ")
    assert "; plugin 'gone': failed to load " in str(failure.value)


def _entry_points(*pairs):
    return [EntryPoint(name, value, "bench") for name, value in pairs]


def test_entry_point_that_fails_to_import_is_reported_and_isolated():
    host = PluginHost(entry_points_=_entry_points(
        ("tasks", "bench_tasks.plugin"), ("broken", "bench_no_such_module_xyz.plugin")))
    assert "ModuleNotFoundError" in host.plugins["broken"].errors[0]
    assert "bench_no_such_module_xyz" in host.plugins["broken"].errors[0]
    assert "copy" in host.registry.tasks


def test_bench_plugins_limits_what_loads(monkeypatch):
    monkeypatch.setenv("BENCH_PLUGINS", "tasks")
    host = PluginHost(entry_points_=_entry_points(
        ("tasks", "bench_tasks.plugin"), ("torch", "bench_torch.plugin")))
    assert list(host.plugins) == ["bench-executors", "tasks"]  # the core's own, and tasks
    assert host.registry.backends == {}


def test_registering_a_wrong_type_is_reported():
    class WrongType:
        @hookimpl
        def bench_register_backends(self, register):
            register({"name": "dict-backend"})

    host = make_host("tasks")
    host.register(WrongType(), "wrong")
    assert host.registry.backends == {}
    assert "must register a harness.registry.Backend" in host.plugins["wrong"].errors[0]


@pytest.mark.parametrize(("allowed", "remedy"), [
    (None, "install the plugin that provides it"),
    ("tasks,orphan", "BENCH_PLUGINS=tasks,orphan leaves its plugin out: add it there")])
def test_cell_of_a_backend_nobody_provides_gives_a_clear_error(monkeypatch, allowed, remedy):
    class Orphan:
        @hookimpl
        def bench_register_cells(self, register):
            register(Cell("lstm", "jaxx", factory=object, initializer=lambda *a: {}))

    host = make_host("tasks", "torch")
    host.register(Orphan(), "orphan")
    if allowed is None:
        monkeypatch.delenv("BENCH_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("BENCH_PLUGINS", allowed)
    registry = host.registry
    assert host.plugins["orphan"].errors == [
        f"cell 'jaxx:lstm' names backend 'jaxx', which no plugin provides (backends: torch; or "
        f"{remedy})"]
    assert [c.qualified_name for c in registry.resolve_cells(["lstm"])] == ["torch:lstm"]
    with pytest.raises(UnknownNameError, match="unknown backend 'jaxx'"):
        registry.resolve_cells(["jaxx:lstm"])


def test_a_misspelt_backend_of_a_cell_gets_a_suggestion(host):
    class Misspelt:
        @hookimpl
        def bench_register_cells(self, register):
            register(Cell("mgu", "pytorch", factory=object, initializer=lambda *a: {}))

    host.register(Misspelt(), "misspelt-backend")
    host.registry  # noqa: B018
    (error,) = host.plugins["misspelt-backend"].errors
    assert error.startswith("cell 'pytorch:mgu' names backend 'pytorch', which no plugin "
                            "provides; did you mean 'torch'? (backends: ")
    host.unregister("misspelt-backend")


def test_an_option_bench_does_not_know_is_refused_naming_the_valid_ones(host):
    class Zoneout:
        @hookimpl
        def bench_register_cells(self, register):
            register(Cell("zoned", "torch", factory=object, initializer=lambda *a: {},
                          options=("dropout", "zoneout")))

    host.register(Zoneout(), "zoneout")
    assert ("torch", "zoned") not in host.registry.cells
    assert host.plugins["zoneout"].errors == [
        "plugin 'zoneout' must declare the options of its cell 'zoned' among dropout, "
        "recurrent_dropout, not 'zoneout'"]
    host.unregister("zoneout")


def test_unavailable_backend_is_listed_with_reason():
    class Missing:
        @hookimpl
        def bench_register_backends(self, register):
            register(Backend("ghost", "Ghost", None, False, build_trainer=None,
                             list_devices=list, reason="Ghost is not installed: pip install x"))

        @hookimpl
        def bench_register_cells(self, register):
            register(Cell("lstm", "ghost", factory=object, initializer=lambda *a: {}))

    host = make_host("tasks", "torch")
    host.register(Missing(), "ghost")
    registry = host.registry
    assert [c.qualified_name for c in registry.resolve_cells(["lstm"])] == ["torch:lstm"]
    with pytest.raises(Exception, match="backend 'ghost' is unavailable: Ghost is not installed"):
        registry.resolve_cells(["ghost:lstm"])


def test_a_plugin_that_exits_at_import_is_isolated():
    host = PluginHost(entry_points_=_entry_points(
        ("tasks", "bench_tasks.plugin"), ("exiting", "tests.exiting_plugin")))
    assert host.plugins["exiting"].errors == [
        "failed to load 'tests.exiting_plugin': SystemExit: this plugin refuses to load"]
    assert "copy" in host.registry.tasks


def test_a_hook_that_exits_is_isolated(host):
    class ExitingCells:
        @hookimpl
        def bench_register_cells(self, register):
            raise SystemExit(3)

    host.register(ExitingCells(), "exiting")
    assert ("torch", "lstm") in host.registry.cells
    assert host.plugins["exiting"].errors == ["bench_register_cells raised SystemExit: 3"]


def test_a_misspelt_hook_is_that_plugins_error(host):
    class Misspelt:
        @hookimpl
        def bench_register_cell(self, register):  # the hook is bench_register_cells
            raise AssertionError("never called")

        @hookimpl
        def bench_register_tasks(self, register):
            from bench_tasks import adding

            register(TaskDefinition("adding3", "", (adding.LENGTH,), adding.AddingTask))

    host.register(Misspelt(), "misspelt")
    (error,) = host.plugins["misspelt"].errors
    assert error.startswith("unknown hook 'bench_register_cell' (did you mean "
                            "'bench_register_cells'?)")
    assert "adding3" not in host.registry.tasks  # the plugin is skipped as a whole
    host.register(ExtraTask(), "extra")  # and later plugins still register
    assert "adding2" in host.registry.tasks


@pytest.mark.parametrize("name", ["my/cell", "../../../escaped", ".hidden", "", "a b", "x:y"])
def test_unsafe_cell_names_are_refused_naming_the_plugin(host, name):
    class Unsafe:
        @hookimpl
        def bench_register_cells(self, register):
            register(Cell(name, "torch", factory=object, initializer=lambda *a: {}))
            register(Cell("fine", "torch", factory=object, initializer=lambda *a: {}))

    host.register(Unsafe(), "unsafe")
    registry = host.registry
    (error,) = host.plugins["unsafe"].errors
    assert error == (f"plugin 'unsafe' must name its cell with letters, digits and _ . + - "
                     f"(starting with a letter or digit), not {name!r}")
    assert ("torch", "fine") in registry.cells and ("torch", name) not in registry.cells


def test_unsafe_task_names_are_refused():
    class Unsafe:
        @hookimpl
        def bench_register_tasks(self, register):
            from bench_tasks import adding

            register(TaskDefinition("../up", "", (adding.LENGTH,), adding.AddingTask))

    host = make_host("tasks")
    host.register(Unsafe(), "unsafe")
    assert "../up" not in host.registry.tasks
    assert "must name its task with letters" in host.plugins["unsafe"].errors[0]


def test_the_warning_says_only_the_duplicate_was_skipped(host, capsys):
    from harness.display import warn_plugin_errors
    from harness.plugins import plugins_answer

    class HalfDuplicate:
        @hookimpl
        def bench_register_tasks(self, register):
            from bench_tasks import adding, copy

            register(TaskDefinition("copy", "an impostor", (copy.LENGTH,), copy.CopyTask))
            register(TaskDefinition("adding4", "", (adding.LENGTH,), adding.AddingTask))

    host.register(HalfDuplicate(), "half")
    host.register(DuplicateCopyTask(), "impostor")
    warn_plugin_errors(host)
    err = " ".join(capsys.readouterr().err.split())
    assert "plugin 'half': task 'copy' registered by both plugin 'tasks' and plugin 'half'; " \
           "only that was skipped, the plugin's other entries are loaded" in err
    assert "plugin 'impostor' is broken and was skipped" in err  # nothing of it loaded
    assert "adding4" in host.registry.tasks
    assert plugins_answer(list(host.plugins.values())) == (
        f"Of {len(host.plugins)} plugins, 1 failed and was skipped (impostor) and 1 loaded in "
        "part (half); `bench plugins` says why.")


class WrongParameter:
    @hookimpl
    def bench_register_cells(self, reg):  # bench's hooks take `register`
        raise AssertionError("never called")


def test_a_hook_with_another_parameter_is_that_plugins_error_not_benchs(host):
    host.register(WrongParameter(), "wrongarg")
    assert host.plugins["wrongarg"].errors == [
        "bench_register_cells takes one parameter named 'register', not 'reg'"]
    assert ("torch", "lstm") in host.registry.cells  # everything else keeps working
    host.unregister("wrongarg")


class Unmarked:
    def bench_register_cells(self, register):  # no @hookimpl: pluggy never calls it
        raise AssertionError("never called")


def test_a_hook_without_its_marker_is_named(host):
    host.register(Unmarked(), "unmarked")
    assert host.plugins["unmarked"].errors == [
        "bench_register_cells not marked @harness.hookimpl, so bench never calls it"]
    host.unregister("unmarked")


class _Distribution:
    def __init__(self, name):
        self.name, self.version = name, "0.1"


def test_an_entry_point_name_taken_by_another_distribution_is_reported_not_dropped():
    taken, clash = (EntryPoint("tasks", value, "bench")._for(_Distribution(distribution))
                    for value, distribution in (("bench_tasks.plugin", "bench-harness"),
                                                ("tests.toyplugins", "bench-mgu")))
    host = PluginHost(entry_points_=[taken, clash])
    assert host.plugins["tasks"].distribution == "bench-harness"
    assert host.plugins["tasks (bench-mgu)"].errors == [
        "its entry point's name 'tasks' is taken by 'bench-harness'; give it another name in "
        "the [project.entry-points.bench] table of its pyproject.toml"]
    assert "copy" in host.registry.tasks
