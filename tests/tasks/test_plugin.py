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


def test_registers_copy_and_adding_with_defaults():
    definitions = _registered()
    assert set(definitions) == {"copy", "adding"}
    for d in definitions.values():
        assert d.description
        assert d.defaults() == {"length": 100}
        assert all(p.help for p in d.parameters)
    assert definitions["copy"].parameters[0].minimum == 1
    assert definitions["adding"].parameters[0].minimum == 2


def test_hook_matches_the_spec():
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin)
    found: list[TaskDefinition] = []
    pm.hook.bench_register_tasks(register=found.append)
    assert [d.name for d in found] == ["copy", "adding"]


@pytest.mark.parametrize("name", ["copy", "adding"])
def test_built_task_honours_the_contract(name):
    task = _registered()[name].build({"length": "12"})  # strings come from the CLI
    assert isinstance(task, Task)
    for attribute in ABC_ATTRIBUTES:
        assert hasattr(task, attribute), attribute
    batch = task.sample(np.random.default_rng(0), 3)
    assert batch.inputs.shape == (3, task.length, task.input_size)
    assert batch.inputs.dtype == np.float32
    expected = (3, task.length) if task.readout == "every_step" else (3, task.output_size)
    assert batch.targets.shape == expected
    assert 0 < task.chance < 1 and task.baseline_loss > 0


@pytest.mark.parametrize("name", ["copy", "adding"])
def test_length_zero_is_a_usage_error_naming_the_parameter(name):
    with pytest.raises(UsageError, match="length"):
        _registered()[name].build({"length": 0})
