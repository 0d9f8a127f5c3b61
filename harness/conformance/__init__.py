"""The conformance kit: does a backend, and each of its cells, honour bench's contract?

In the manner of scikit-learn's ``check_estimator``: named checks for a registered backend
(``available``, ``devices``, ``probe``) and for each of its cells (``construct``,
``forward``, ``deterministic``, ``gradients``, ``roundtrip``, ``options``, ``record``,
``reference``), each giving a :class:`CheckResult` whose failure names the cell, the check
and the fix. Three ways to run them:

* ``bench check [--backend B] [--cells ...]`` (exit 1 on a failure);
* :func:`run_checks` (or :func:`plan_checks`, then ``.run()`` each) for per-check results;
* :func:`conformance_tests` in a plugin's test file, one pytest item per check.

The checks reach a cell only through the contracts (``Backend.build_trainer``, the
Trainer, ``Backend.probe_cell``, ``Cell.initializer``, :func:`harness.runner.execute`), so
they hold for any backend. Sizes are tiny and everything runs on the CPU.
"""

from harness.conformance.plan import DEFAULT_TASK, plan_checks, run_checks
from harness.conformance.pytest_helper import conformance_tests
from harness.conformance.results import CheckResult, PlannedCheck

__all__ = ["DEFAULT_TASK", "CheckResult", "PlannedCheck", "conformance_tests", "plan_checks",
           "run_checks"]
