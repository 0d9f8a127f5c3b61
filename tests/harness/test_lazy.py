import pickle

import pytest

from harness.lazy import LazyFunction
from tests.helpers import frameworks_imported_by


def test_calls_the_named_function_and_survives_pickling():
    join = pickle.loads(pickle.dumps(LazyFunction("os.path:join")))
    assert join("a", "b") == "a/b"


def test_registering_a_backend_imports_no_framework():
    code = ("from tests.helpers import make_host\n"
            "host = make_host('tasks', 'torch', 'keras')\n"
            "assert host.registry.backend('torch').available")
    assert frameworks_imported_by(code) == []


@pytest.mark.parametrize("target", ["os.path.join", ":join", "os.path:"])
def test_a_malformed_target_is_refused_at_once(target):
    with pytest.raises(ValueError, match="package.module:function"):
        LazyFunction(target)
