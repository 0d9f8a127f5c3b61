"""``bench compare``: did the current results regress against a baseline?"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

from harness.compare import Rules, compare
from harness.compare.markdown import render_markdown
from harness.compare.matching import load_side
from harness.compare.terminal import print_comparison
from harness.display import stdout
from harness.errors import UsageError


def add_parser(subparsers) -> None:
    d = Rules()
    p = subparsers.add_parser(
        "compare", help="compare results against a baseline; exit 1 on a regression",
        description="Match the runs of BASELINE and CURRENT by their spec and report, per run "
        "and per cell (over its seeds), the change in headline metric, loss/baseline, solved, "
        "steps to solve, ms/step, gradient-norm p99 and status, each classified as "
        "regression, improvement or unchanged. A regression is: "
        + "; ".join(d.describe()) + ". The opposite changes are improvements; a run only in "
        "CURRENT is listed as new. Exit codes: 0 no regression, 1 a regression (or a missing "
        "run), 2 bad input.",
        epilog="Speed where machines differ: run both revisions in one job, alternately "
        "(A B A B ...), each round into its own directory (e.g. base/1 head/1 base/2 head/2 "
        "...), then compare with --interleaved. See results/README.md.",
    )
    p.add_argument("baseline", metavar="BASELINE", help="results directory (searched "
                   "recursively) or record file")
    p.add_argument("current", metavar="CURRENT", help="results directory or record file")
    p.add_argument("--interleaved", action="store_true",
                   help="both sides were run on this machine alternately, one round at a time "
                   "(each run as often on both sides, at least twice): pair the rounds in time "
                   "order and compare step times round by round, so that drift of the "
                   "machine's speed cancels")
    rules = p.add_argument_group("rules")
    for option, kind, metavar, default, what in [
        ("--headline-tolerance", _non_negative, "X", d.headline_tolerance,
         "absolute fall of the headline metric that counts"),
        ("--loss-tolerance", _non_negative, "X", d.loss_tolerance,
         "absolute rise of loss/baseline that counts"),
        ("--steps-tolerance", _non_negative, "X", d.steps_tolerance,
         "relative growth of the steps to solve that counts"),
        ("--speed-factor", _factor, "X", d.speed_factor,
         "factor by which the fast end (5th percentile) of the step times must grow"),
        ("--alpha", _probability, "P", d.alpha, "significance level of the Mann-Whitney U test"),
    ]:
        rules.add_argument(option, type=kind, metavar=metavar, default=default,
                           help=f"{what} (default: {default:g})")
    rules.add_argument("--strict-speed", action="store_true",
                       help="let speed changes fail even between different machines or "
                       "framework versions")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--markdown", nargs="?", const="-", metavar="FILE", type=_markdown_file,
                     help="write Markdown for a CI step summary: to stdout instead of the "
                     "table, or appended to FILE (e.g. \"$GITHUB_STEP_SUMMARY\") besides it")
    out.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(execute=execute_command)


def _markdown_file(raw: str) -> str:
    if not raw.strip():
        raise argparse.ArgumentTypeError("must name a file, got an empty string (without a "
                                         "value it writes to stdout)")
    return raw


def _non_negative(raw: str) -> float:
    value = _float(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {raw}")
    return value


def _factor(raw: str) -> float:
    value = _float(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {raw}")
    return value


def _probability(raw: str) -> float:
    value = _float(raw)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {raw}")
    return value


def _float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {raw!r}")
    return value


def execute_command(args) -> int:
    if args.markdown not in (None, "-"):
        _check_appendable(Path(args.markdown))
    rules = Rules(headline_tolerance=args.headline_tolerance,
                  loss_tolerance=args.loss_tolerance, steps_tolerance=args.steps_tolerance,
                  speed_factor=args.speed_factor, alpha=args.alpha,
                  strict_speed=args.strict_speed)
    _check_apart(Path(args.baseline), Path(args.current))
    comparison = compare(load_side(Path(args.baseline), "baseline"),
                         load_side(Path(args.current), "current"), rules,
                         interleaved=args.interleaved)
    if args.json:
        print(json.dumps(comparison.to_dict(), indent=1))
    elif args.markdown == "-":
        print(render_markdown(comparison))
    else:
        print_comparison(comparison, stdout)
        if args.markdown:
            _append(Path(args.markdown), render_markdown(comparison))
    return 1 if comparison.failed else 0


def _check_apart(baseline: Path, current: Path) -> None:
    """Each side is searched recursively, so a side inside the other would be read twice."""
    old, new = baseline.resolve(), current.resolve()
    if old == new:
        raise UsageError(f"BASELINE and CURRENT are the same, {str(baseline)!r}; give the "
                         "results of two runs to compare")
    baseline_side, current_side = ("BASELINE", baseline, old), ("CURRENT", current, new)
    for (inner, given, path), (outer, around, place) in ((baseline_side, current_side),
                                                         (current_side, baseline_side)):
        if place in path.parents:
            raise UsageError(f"{inner} {str(given)!r} lies inside {outer} {str(around)!r}, "
                             "whose records would include it; give two directories apart")


def _check_appendable(path: Path) -> None:
    """Before the comparison, so that its verdict is not lost to a path it cannot write."""
    parent = path.parent
    if path.is_dir():
        problem = "it is a directory"
    elif path.exists():
        problem = None if os.access(path, os.W_OK) else "it is not writable"
    elif not parent.is_dir():
        problem = f"{str(parent)!r} is not a directory"
    else:
        problem = None if os.access(parent, os.W_OK) else f"{str(parent)!r} is not writable"
    if problem:
        raise UsageError(f"cannot write Markdown to {str(path)!r}: {problem}")


def _append(path: Path, text: str) -> None:
    try:
        with path.open("a") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write Markdown to {str(path)!r}: "
                         f"{exc.strerror or type(exc).__name__}") from None
