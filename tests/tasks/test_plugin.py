import numpy as np
import pluggy
import pytest

from bench_tasks import plugin
from harness import PROJECT_NAME, hookspecs
from harness.errors import UsageError
from harness.tasks import Task, TaskDefinition

ABC_ATTRIBUTES = (
    "input_size output_size length readout loss baseline_loss headline chance solved_criterion"
).split()


def _registered() -> dict[str, TaskDefinition]:
    found: list[TaskDefinition] = []
    plugin.bench_register_tasks(register=found.append)
    return {d.name: d for d in found}


NAMES = ["copy", "adding", "selective_copy", "recall", "digits"]
DEFAULTS = {
    "copy": {"length": 100},
    "adding": {"length": 100},
    "selective_copy": {"length": 100, "tokens": 8},
    "recall": {"length": 50, "pairs": 4, "keys": 8, "values": 8},
    "digits": {"permuted": False},
}
MINIMA = {
    "copy": {"length": 1},
    "adding": {"length": 2},
    "selective_copy": {"length": 1, "tokens": 1},
    "recall": {"length": 0, "pairs": 1, "keys": 1, "values": 2},
    "digits": {"permuted": None},
}
# Small instances, given as strings as the CLI gives them.
SMALL = {
    "copy": {"length": "12"},
    "adding": {"length": "12"},
    "selective_copy": {"length": "12", "tokens": "3"},
    "recall": {"length": "12", "pairs": "2", "keys": "3", "values": "4"},
    "digits": {"permuted": "true"},
}


def test_registers_the_five_tasks_with_defaults():
    definitions = _registered()
    assert list(definitions) == NAMES
    for name, d in definitions.items():
        assert d.description
        assert d.defaults() == DEFAULTS[name]
        assert all(p.help for p in d.parameters)
        assert {p.name: p.minimum for p in d.parameters} == MINIMA[name]


def test_hook_matches_the_spec():
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin)
    found: list[TaskDefinition] = []
    pm.hook.bench_register_tasks(register=found.append)
    assert [d.name for d in found] == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_built_task_honours_the_contract(name):
    if name == "digits":
        pytest.importorskip("sklearn")
    task = _registered()[name].build(SMALL[name])
    assert isinstance(task, Task)
    for attribute in ABC_ATTRIBUTES:
        assert hasattr(task, attribute), attribute
    batch = task.sample(np.random.default_rng(0), 3)
    assert batch.inputs.shape == (3, task.length, task.input_size)
    assert batch.inputs.dtype == np.float32
    if task.readout == "every_step":
        expected = (3, task.length)
    else:
        expected = (3,) if task.loss == "xent" else (3, task.output_size)
    assert batch.targets.shape == expected
    assert batch.targets.dtype == (np.int64 if task.loss == "xent" else np.float32)
    assert 0 < task.chance < 1 and task.baseline_loss > 0
    held = task.held_out(np.random.default_rng(1), 5)
    assert held.inputs.shape[1:] == batch.inputs.shape[1:]
    assert len(held.inputs) == len(held.targets)


@pytest.mark.parametrize("name", ["copy", "adding", "selective_copy"])
def test_length_zero_is_a_usage_error_naming_the_parameter(name):
    with pytest.raises(UsageError, match="length"):
        _registered()[name].build({"length": 0})


def test_recall_takes_no_gap_but_not_a_negative_one():
    assert _registered()["recall"].build({"length": 0}).length == 12
    with pytest.raises(UsageError, match="length"):
        _registered()["recall"].build({"length": -1})


@pytest.mark.parametrize(
    ("name", "params", "named"),
    [
        ("selective_copy", {"length": 5, "tokens": 6}, "tokens"),
        ("recall", {"pairs": 9}, "keys"),
        ("recall", {"values": "1"}, "values"),
        ("digits", {"length": 64}, "length"),  # digits has no length: an unknown parameter
    ],
)
def test_other_parameters_are_validated(name, params, named):
    with pytest.raises(UsageError, match=named):
        _registered()[name].build(params)
