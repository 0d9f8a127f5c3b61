"""``bench reproduce``: run a suite of published findings and say, claim by claim, whether
bench reproduced them."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

from harness.atomic import staged
from harness.commands.run import (
    DEFAULT_OUT,
    add_execution_arguments,
    open_executor,
    parse_arguments,
    records_line,
    requested_specs,
    run_all,
)
from harness.display import stderr, stdout, warn_plugin_errors
from harness.errors import UsageError
from harness.formatting import plural
from harness.plugins import default_host
from harness.records import RunRecord
from harness.reproduce import (
    NO_SUITES_HERE,
    ClaimOutcome,
    ReproduceSuite,
    answer,
    check_claims_are_run,
    judge,
    load_reproduce_suite,
    outcome_json,
    suite_copy,
    suite_names,
)
from harness.suites import SUITES_DIR

MARKS = {True: "✓", False: "✗", None: "?"}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce", help="run a suite of published findings and check each claim",
        description="Run the runs of a reproduce suite (results/suites/NAME.toml with "
        "[[claims]]) as bench run --suite would (resuming from --out, any executor), then "
        "print each published claim as reproduced or not, with the measured numbers. A claim "
        "that does not reproduce is a finding, not an error: the exit code is 0 unless a run "
        "failed, or with --strict, a claim was not reproduced.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the suite: NAME for "
                   f"{SUITES_DIR}/NAME.toml, or a path to a suite file")
    p.add_argument("--list", action="store_true", help="list the reproduce suites (or the "
                   "one NAME gives) with their claims and expected time")
    p.add_argument("--strict", action="store_true", help="exit 1 when a claim is not reproduced")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    add_execution_arguments(p, None, f"{DEFAULT_OUT}/reproduce-NAME")
    p.set_defaults(execute=execute_command)


def execute_command(args) -> int:
    started = time.monotonic()
    if args.list:
        return _list(args.json, args.name)
    if not args.name:
        raise UsageError("give a suite NAME or --list (available: "
                         f"{', '.join(suite_names()) or 'none: ' + NO_SUITES_HERE})",
                         command="bench reproduce")
    suite = load_reproduce_suite(args.name)
    host = default_host()
    warn_plugin_errors(host)
    out_dir = Path(args.out or f"{DEFAULT_OUT}/reproduce-{suite.name}")
    run_args = parse_arguments(["--suite", str(suite.suite.path), "--out", str(out_dir)])
    specs = requested_specs(run_args, host.registry)
    check_claims_are_run(suite, specs)
    executor = open_executor(args, host.registry, args.executor or "local", out_dir)
    with staged(suite_copy(out_dir)) as copy:
        copy.write_bytes(suite.suite.path.read_bytes())
    failed_reruns: list[RunRecord] = []
    records = run_all(specs, out_dir, executor, args.force, failed_reruns)
    outcomes = judge(suite.claims, records)
    if args.json:
        print(json.dumps(outcome_json(suite, outcomes), indent=1))
    else:
        print_outcomes(suite, outcomes)
    stderr.print(f"{records_line(out_dir, records, started)}; bench report {out_dir} shows "
                 "published against measured", soft_wrap=True)
    if failed_reruns or any(r.status == "failed" for r in records):
        return 1
    return 1 if args.strict and not all(o.reproduced for o in outcomes) else 0


def print_outcomes(suite: ReproduceSuite, outcomes: list[ClaimOutcome]) -> None:
    for number, outcome in enumerate(outcomes, 1):
        claim = outcome.claim
        lines = [f"{number}. {outcome.verdict}: {claim.text}", f"   source: {claim.source}"]
        lines += [f"   {MARKS[c.holds]} {c.check.text} ({claim.setting}): {c.measured}"
                  for c in outcome.checks]
        stdout.print("\n".join(lines), markup=False, soft_wrap=True, highlight=False)
    stdout.print(answer(suite, outcomes), markup=False, soft_wrap=True, highlight=False)


def _list(as_json: bool, name: str | None = None) -> int:
    """Every reproduce suite, or the one ``name`` gives, with its claims and expected time."""
    suites = ([load_reproduce_suite(name)] if name else
              [load_reproduce_suite(found) for found in suite_names()])
    if as_json:
        print(json.dumps([{
            "name": s.name, "description": s.suite.description,
            "expected_minutes": s.expected_minutes, "full_size": s.full_size,
            "claims": [{"text": c.text, "source": c.source} for c in s.claims],
        } for s in suites], indent=1))
        return 0
    for s in suites:
        minutes = (f"~{s.expected_minutes:g} min on a shared 2-core CPU" if s.expected_minutes
                   else "time not measured")
        lines = _wrapped(f"{s.name} ({minutes}): {s.suite.description}", "", "    ")
        for number, claim in enumerate(s.claims, 1):
            lead = f"  {number}. "
            lines += _wrapped(f"{claim.text} [{claim.source}]", lead, " " * len(lead))
        if s.full_size:
            lines += _wrapped(s.full_size, "  full size: ", "    ")
        stdout.print("\n".join(lines), markup=False, soft_wrap=True, highlight=False)
    claims = sum(len(s.claims) for s in suites)
    runs = f"bench reproduce {name} runs it." if name else "bench reproduce NAME runs one."
    last = (f"{plural(len(suites), 'reproduce suite')} with {plural(claims, 'claim')}; {runs}"
            if suites else f"No reproduce suites: {NO_SUITES_HERE}.")
    stdout.print(last, markup=False, soft_wrap=True, highlight=False)  # one line, as answers are
    return 0


def _wrapped(text: str, first: str, rest: str) -> list[str]:
    """``text`` in lines that fit the console (its terminal, or COLUMNS in a pipe), after
    ``first`` on the first line and ``rest`` on the others, so that an entry keeps its
    indentation; a word is never broken, not even at a hyphen (``--cells``)."""
    return textwrap.wrap(text, max(stdout.width, 40), initial_indent=first,
                         subsequent_indent=rest, break_long_words=False,
                         break_on_hyphens=False)
