"""The conformance kit: do a backend, each of its cells, and each task honour bench's
contract?

In the manner of scikit-learn's ``check_estimator``: named checks for a registered backend
(``available``, ``devices``, ``probe``) and for each of its cells (``construct``,
``forward``, ``deterministic``, ``gradients``, ``roundtrip``, ``options``, ``record``,
``reference``), each giving a :class:`CheckResult` whose failure names the cell, the check
and the fix. Each registered task has its own checks (``parameters``, ``batch``,
``deterministic``, ``baseline``, ``chance``, ``headline``, ``length``; see
:mod:`harness.conformance.task_checks`). Three ways to run them:

* ``bench check [--backend B] [--cells ...] [--tasks ...]`` (exit 1 on a failure);
* :func:`run_checks` (or :func:`plan_checks` / :func:`plan_task_checks`, then ``.run()``
  each) for per-check results;
* :func:`conformance_tests` / :func:`task_conformance_tests` in a plugin's test file, one
  pytest item per check.

The checks reach a cell only through the contracts (``Backend.build_trainer``, the
Trainer, ``Backend.probe_cell``, ``Cell.initializer``, :func:`harness.runner.execute`), so
they hold for any backend. Sizes are tiny and everything runs on the CPU.
"""

from harness.conformance.plan import DEFAULT_TASK, plan_checks, plan_task_checks, run_checks
from harness.conformance.pytest_helper import conformance_tests, task_conformance_tests
from harness.conformance.results import CheckResult, PlannedCheck

__all__ = ["DEFAULT_TASK", "CheckResult", "PlannedCheck", "conformance_tests", "plan_checks",
           "plan_task_checks", "run_checks", "task_conformance_tests"]
