"""The kit as a pytest test: one parametrised test item per check, in a plugin's own suite.

pytest is imported only when a test module calls :func:`conformance_tests`, so the core
does not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from harness.conformance.fixture import ReferenceEquations
from harness.conformance.plan import DEFAULT_TASK, plan_checks, plan_task_checks
from harness.conformance.results import PlannedCheck
from harness.errors import UsageError
from harness.plugins import PluginHost, default_host


def conformance_tests(*cells: str, backend: str | None = None, task: str = DEFAULT_TASK,
                      references: Mapping[str, ReferenceEquations] | None = None,
                      host: PluginHost | None = None) -> Callable[[PlannedCheck], None]:
    """A test function over every check of ``cells`` (or of ``backend``'s cells)::

        from harness.conformance import conformance_tests
        test_conformance = conformance_tests("torch:peephole")

    ``host`` defaults to the installed plugins (entry points, ``BENCH_PLUGINS``); a failed
    check fails its item with the message and the fix, a skipped one is skipped with why.
    """
    host = host or default_host()
    try:
        planned = plan_checks(host.registry, backend, list(cells) or None, task, references)
    except UsageError as exc:
        raise _naming_broken_plugins(exc, host) from None
    return _as_test(planned)


def task_conformance_tests(*tasks: str, host: PluginHost | None = None
                           ) -> Callable[[PlannedCheck], None]:
    """A test function over every check of ``tasks`` (every registered task by default)::

        from harness.conformance import task_conformance_tests
        test_tasks = task_conformance_tests("copy", "adding")
    """
    host = host or default_host()
    try:
        planned = plan_task_checks(host.registry, list(tasks) or None)
    except UsageError as exc:
        raise _naming_broken_plugins(exc, host) from None
    return _as_test(planned)


def _naming_broken_plugins(exc: UsageError, host: PluginHost) -> UsageError:
    broken = "; ".join(f"plugin {name!r}: {errors[0]}"
                       for name, errors in host.load_errors().items())
    return UsageError(f"{exc}{f' (broken plugins: {broken})' if broken else ''}")


def _as_test(planned: list[PlannedCheck]) -> Callable[[PlannedCheck], None]:
    """One parametrised test item per planned check."""
    import pytest

    @pytest.mark.parametrize("planned", planned, ids=[p.id for p in planned])
    def test_conformance(planned: PlannedCheck) -> None:
        result = planned.run()
        if result.outcome == "skipped":
            pytest.skip(result.message)
        if result.failed:
            pytest.fail(result.describe(), pytrace=False)

    return test_conformance
