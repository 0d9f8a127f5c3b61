import pluggy
import pytest

from bench_tasks import plugin
from harness import PROJECT_NAME, hookspecs
from harness.errors import UsageError
from harness.tasks import TaskDefinition


def _registered() -> dict[str, TaskDefinition]:
    found: list[TaskDefinition] = []
    plugin.bench_register_tasks(register=found.append)
    return {d.name: d for d in found}


NAMES = ["copy", "adding", "selective_copy", "recall", "digits"]
DECLARED = {
    "copy": {"length": (100, 1)},
    "adding": {"length": (100, 2)},
    "selective_copy": {"length": (100, 1), "tokens": (8, 1)},
    "recall": {"length": (50, 0), "pairs": (4, 1), "keys": (8, 1), "values": (8, 2)},
    "digits": {"permuted": (False, None)},
}
"""Each parameter's (default, minimum)."""


def test_registers_the_five_tasks_with_defaults():
    definitions = _registered()
    assert list(definitions) == NAMES
    for name, d in definitions.items():
        assert d.description
        assert {p.name: (p.default, p.minimum) for p in d.parameters} == DECLARED[name]


def test_hook_matches_the_spec():
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin)
    found: list[TaskDefinition] = []
    pm.hook.bench_register_tasks(register=found.append)
    assert [d.name for d in found] == NAMES


@pytest.mark.parametrize(
    ("name", "params", "named"),
    [
        ("selective_copy", {"length": 5, "tokens": 6}, "tokens"),
        ("recall", {"pairs": 9}, "keys"),
        ("digits", {"length": 64}, "length"),  # digits has no length: an unknown parameter
    ],
)
def test_constraints_between_parameters_are_validated(name, params, named):
    with pytest.raises(UsageError, match=named):
        _registered()[name].build(params)
