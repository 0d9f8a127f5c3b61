"""The task kit (:mod:`harness.conformance.task_checks`) on the standard tasks, one test item
per task and check: seeded determinism, batch layout, parameter validation, the length
convention, and baseline and chance against the measured input-free predictor. The
per-task test files keep only what is particular to each task."""

from harness.conformance import task_conformance_tests
from tests.helpers import make_host

test_standard_task = task_conformance_tests(host=make_host("tasks"))
