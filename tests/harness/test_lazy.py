import pickle
import sys

import pytest

from harness.errors import UsageError
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


def test_a_missing_dependency_of_the_target_is_said_as_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "json.decoder", None)
    monkeypatch.delitem(sys.modules, "json", raising=False)
    start = LazyFunction("json:loads", missing="install json")
    with pytest.raises(UsageError, match="^install json$"):
        start("[]")


def test_a_missing_target_module_is_not_taken_for_a_missing_dependency():
    with pytest.raises(ModuleNotFoundError):
        LazyFunction("harness.nonesuch:run", missing="install something")()
