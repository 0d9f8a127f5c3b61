import pickle

import pytest

from harness.errors import UsageError
from harness.spec import RunSpec


def spec(**changes) -> RunSpec:
    return RunSpec(task="copy", cell="torch:lstm", task_params={"length": 10}, **changes)


def test_run_id_is_stable_and_distinguishes_specs():
    assert spec().run_id == spec().run_id
    assert spec(seed=1).run_id != spec().run_id
    assert spec(options={"dropout": 0.1}).run_id != spec().run_id


def test_round_trips_through_dict_and_pickle():
    original = spec(options={"dropout": 0.25}, seed=3)
    assert RunSpec.from_dict(original.to_dict()) == original
    assert pickle.loads(pickle.dumps(original)) == original
    assert (original.backend, original.cell_name) == ("torch", "lstm")


@pytest.mark.parametrize("changes, message", [
    ({"batch": 0}, "--batch must be a whole number from 1 to 2147483647, got 0"),
    ({"hidden": -4}, "--hidden must be a whole number from 1 to 2147483647, got -4"),
    ({"steps": 2**31}, "--steps must be a whole number from 1 to 2147483647, got 2147483648"),
    ({"lr": -0.1}, "--lr must be a finite positive number, got -0.1"),
    ({"lr": float("inf")}, "--lr must be a finite positive number, got inf"),
    ({"lr": float("nan")}, "--lr must be a finite positive number, got nan"),
    ({"clip_norm": 0.0}, "--clip must be a finite positive number"),
    ({"clip_norm": float("inf")}, "--clip must be a finite positive number, got inf"),
    ({"seed": 2**32}, "seed must be in [0, 4294967295], got 4294967296"),
    ({"device": "tpu"}, "unknown device 'tpu' (valid: auto, cpu, cuda)"),
    ({"options": {"dropout": 1.5}}, "--dropout must be in [0, 1), got 1.5"),
])
def test_validation_names_the_bad_value(changes, message):
    with pytest.raises(UsageError) as info:
        spec(**changes).validate()
    assert message in str(info.value)
