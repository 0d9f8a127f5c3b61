"""The PyTorch backend and every one of its cells pass the conformance kit."""

import pytest

pytest.importorskip("torch")

from harness.conformance import conformance_tests  # noqa: E402
from tests.helpers import make_host  # noqa: E402

test_torch_backend = conformance_tests(backend="torch", host=make_host("tasks", "torch"))
