"""Generated bad input (Hypothesis): malformed records, suite files and command lines.

For every generated case: the exit code is one the CLI documents (0, 1 or 2), there is no
traceback, nothing is written outside ``--out``, and every valid record next to the bad
input is still read, and is unchanged on disk. Example counts are small, so the module
runs in seconds on CI's two cores; ``--hypothesis-seed`` reproduces a run.
"""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import build_parser, main
from harness.commands.run import requested_specs
from harness.errors import UsageError
from harness.gradients import GradientProfile
from harness.records import (
    Accuracy,
    EvalPoint,
    RunRecord,
    Speed,
    Stability,
    load_results,
    read_record,
    write_record,
)
from harness.report.tables import run_table
from harness.spec import RunSpec
from harness.sweep import summarise_cells
from tests.helpers import ERROR_LINE

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                      st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def _valid_record() -> RunRecord:
    spec = RunSpec(task="adding", cell="torch:rnn", task_params={"length": 3}, seed=5)
    return RunRecord(
        spec=spec, status="ok", run_id=spec.run_id, steps_done=2,
        accuracy=Accuracy(baseline_loss=1 / 6, headline_name="accuracy", chance=0.08,
                          solved_criterion="MSE <= 0.01", final_loss=0.05, loss_ratio=0.3,
                          headline=0.4, curve=[EvalPoint(0, 0.0, 0.2, 1.2, 0.07)]),
        speed=Speed("cpu", "fused:nn.RNN", 10, step_ms=[1.5, 1.25]),
        stability=Stability(grad_norm_p99=0.5, gradient_profile=GradientProfile(
            initial=[1.0, 0.5], final=[1.0, 0.25], reach_initial=1, reach_final=1)),
        environment={"python": "3.11", "cpu_count": 2})


def _paths(data, prefix=()):
    """Every path (tuple of keys and indexes) into nested JSON data."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


@st.composite
def malformed_records(draw) -> str:
    """A valid record's JSON with one part replaced, deleted or added, or cut short."""
    data = _valid_record().to_dict()
    paths = [p for p in _paths(data) if p]
    path = draw(st.sampled_from(paths))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "delete", "add", "truncate"]))
    if action == "replace":
        parent[path[-1]] = draw(json_value)
    elif action == "delete":
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(max_size=8))] = draw(json_value)
    text = json.dumps(data)
    if action == "truncate":
        text = text[:draw(st.integers(0, len(text) - 1))]
    return text


@settings(max_examples=150, deadline=None)
@given(text=malformed_records())
def test_a_malformed_record_is_read_or_refused_by_name_never_a_crash(tmp_path_factory, text):
    directory = tmp_path_factory.mktemp("records")
    good = write_record(directory, _valid_record())
    before = good.read_bytes()
    bad = directory / "bad.json"
    bad.write_text(text)
    try:
        record = read_record(bad)
    except UsageError as exc:
        assert str(bad) in str(exc)
        record = None
    if record is not None:  # what reads must also summarise, tabulate and write back
        summarise_cells([record])
        run_table([record])
        read_record(write_record(tmp_path_factory.mktemp("again"), record))
    loaded = load_results(directory)
    assert good.read_bytes() == before
    assert _valid_record().spec in [r.spec for r in loaded.records]


keys = st.sampled_from(["task", "cells", "length", "lengths", "seeds", "steps", "hidden",
                        "batch", "lr", "param", "no_early_stop", "eval_every", "out",
                        "description", "defaults", "runs", "dropout", "bogus"])
toml_scalar = st.one_of(st.integers(-3, 2**65), st.booleans(), st.text(
    alphabet=string.ascii_letters + string.digits + ":,=./- ", max_size=10),
    st.sampled_from(["adding", "copy", "lstm", "torch:rnn", "0.5", "inf"]))


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"


toml_value = st.one_of(toml_scalar, st.lists(toml_scalar, max_size=3),
                       st.dictionaries(st.sampled_from(["pairs", "keys", "x"]), toml_scalar,
                                       max_size=2))


@st.composite
def suite_texts(draw) -> str | bytes:
    kind = draw(st.sampled_from(["structured", "top-level", "raw", "bytes"]))
    if kind == "raw":
        return draw(st.text(max_size=60))
    if kind == "bytes":
        return draw(st.binary(max_size=60))
    if kind == "top-level":
        return "\n".join(f"{k} = {_toml(draw(toml_value))}"
                         for k in draw(st.lists(keys, max_size=3, unique=True)))
    lines = []
    if draw(st.booleans()):
        lines.append("[defaults]")
        lines += [f"{k} = {_toml(draw(toml_value))}"
                  for k in draw(st.lists(keys, max_size=3, unique=True))]
    for _ in range(draw(st.integers(0, 2))):
        lines.append("[[runs]]")
        lines += [f"{k} = {_toml(draw(toml_value))}"
                  for k in draw(st.lists(keys, max_size=4, unique=True))]
    return "\n".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES)
@given(text=suite_texts())
def test_a_malformed_suite_is_a_usage_error_or_valid_runs(tmp_path_factory, registry, text):
    path = tmp_path_factory.mktemp("suite") / "generated.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    args = build_parser().parse_args(["run", "--suite", str(path)])
    try:
        specs = requested_specs(args, registry)
    except UsageError as exc:
        assert "\n" not in str(exc).strip()
    else:
        assert all(isinstance(spec, RunSpec) for spec in specs)


OPTIONS = ["--task", "--cells", "--backend", "--length", "--lengths", "--param", "--seeds",
           "--steps", "--hidden", "--batch", "--lr", "--optimizer", "--clip", "--dropout",
           "--recurrent-dropout", "--eval-every", "--eval-size", "--device", "--executor",
           "--workers", "--scheduler", "--timeout", "--suite", "--force", "--no-early-stop",
           "--json", "--bogus"]
VALUES = ["", "0", "-1", "1", "2", "3", "inf", "-inf", "nan", "1e309", "abc", "lstm",
          "torch:rnn", "torch:../x", "a,b", "3,", ",", "../escape", "/", "length=3",
          "length=5", "x=y", "=", "99999999999999999999999", "adding", "copy", "local",
          "process", "dask", "cpu", "cuda", "tcp://127.0.0.1:1", "ci", "nul\x00byte", "-",
          "é", "\\", "*"]
INSIDE_VALUES = [v for v in VALUES if not v.startswith(("/", "../"))]
"""Values that, given as an output path, stay in the test's directory."""
argv_tokens = st.lists(st.one_of(st.sampled_from(OPTIONS), st.sampled_from(VALUES)),
                       max_size=8)
TINY = ["--steps", "2", "--hidden", "4", "--batch", "2", "--eval-size", "4"]


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(tokens=argv_tokens, out=st.sampled_from(["out", "out/nested", "out/nul\x00byte",
                                                "out/../out"]))
def test_a_generated_command_line_exits_0_1_or_2_and_writes_only_into_out(
        tmp_path_factory, host, capsys, monkeypatch, tokens, out):
    work = tmp_path_factory.mktemp("cwd")
    baseline = work / "baseline"
    baseline.mkdir()
    write_record(baseline, _valid_record())
    kept = {p: p.read_bytes() for p in baseline.iterdir()}
    monkeypatch.chdir(work)
    # the task and cells first and the tiny sizes last, so that valid lines run in a blink;
    # generated tokens may still override or contradict any of them
    argv = ["run", "--task", "adding", "--cells", "torch:rnn", "--length", "3", *tokens,
            *TINY, "--out", out]
    code = main(argv)
    captured = capsys.readouterr()
    assert code in (0, 1, 2)
    assert "Traceback" not in captured.err + captured.out
    if code == 2:
        assert ERROR_LINE.fullmatch(captured.err), captured.err
    assert {p.relative_to(work).parts[0] for p in work.rglob("*")} <= {"baseline", "out"}
    assert {p: p.read_bytes() for p in baseline.iterdir()} == kept
    for path in (work / "out").rglob("*.json"):
        read_record(path)  # anything written is a valid record


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(command=st.sampled_from(["report", "compare"]),
       tokens=st.lists(st.one_of(st.sampled_from(INSIDE_VALUES), st.sampled_from(
           ["--out", "-o", "--markdown", "--json", "--interleaved", "--alpha", "--speed-factor",
            "baseline", "baseline/x.json", "report"])), max_size=5))
def test_generated_report_and_compare_lines_exit_0_1_or_2(tmp_path_factory, host, capsys,
                                                          monkeypatch, command, tokens):
    work = tmp_path_factory.mktemp("cwd")
    (work / "baseline").mkdir()
    good = write_record(work / "baseline", _valid_record())
    before = good.read_bytes()
    monkeypatch.chdir(work)
    code = main([command, *tokens])
    captured = capsys.readouterr()
    assert code in (0, 1, 2), captured.err
    assert "Traceback" not in captured.err + captured.out
    assert good.read_bytes() == before
    # besides the record, only what a report writes there (when "--out baseline" asks it to)
    assert {p.name for p in (work / "baseline").iterdir()} <= {
        good.name, "report", "report.html", "summary.md"}
    if code == 2:
        assert ERROR_LINE.fullmatch(captured.err), captured.err

