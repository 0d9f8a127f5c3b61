import pickle
import subprocess
import sys

import pytest

from harness.lazy import LazyFunction


def test_calls_the_named_function_and_survives_pickling():
    join = pickle.loads(pickle.dumps(LazyFunction("os.path:join")))
    assert join("a", "b") == "a/b"


def test_registering_a_backend_imports_no_framework():
    script = ("import sys\n"
              "from tests.helpers import make_host\n"
              "host = make_host('tasks', 'torch', 'keras')\n"
              "assert host.registry.backend('torch').available\n"
              "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize("target", ["os.path.join", ":join", "os.path:"])
def test_a_malformed_target_is_refused_at_once(target):
    with pytest.raises(ValueError, match="package.module:function"):
        LazyFunction(target)
