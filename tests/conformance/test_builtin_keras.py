"""The Keras backend passes the conformance kit.

Each Keras trainer compiles for seconds, so this runs the kit on the one cell whose
equations and dropout masks are bench's own code (``lnrnn``, a custom Keras cell); the
others are Keras's layers, held to the same equations by ``bench parity``. ``bench check
--backend keras`` runs the kit on all of them.
"""

import pytest

pytest.importorskip("keras")

from harness.conformance import conformance_tests  # noqa: E402
from tests.helpers import make_host  # noqa: E402

test_keras_backend = conformance_tests("keras:lnrnn", host=make_host("tasks", "keras"))
