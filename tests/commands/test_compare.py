"""bench compare end to end: planted faults are caught, timing noise is not, bad input is
named. Real training at tiny sizes, with torch on one thread: on a shared 2-core machine two
spinning OpenMP threads per process make step times swing tenfold.

The speed tests time a step of known length: the planted cell sleeps STEP_S in every step,
which dwarfs the tiny model's own work. They check the rules (factor and test) on real
records, not the neighbours: CPU-bound steps of identical code differ by up to ±30% from run
to run on a busy shared machine (results/README.md).
"""

import json
from pathlib import Path

import pytest
import torch

from harness.cli import main
from harness.compare import Rules
from harness.compare import compare as compare_runs
from harness.compare.text import tables
from harness.records import load_results, write_record
from tests.compare.planted import Planted
from tests.compare.records import make_record, step_times
from tests.helpers import assert_tables_whole

TINY = ["--task", "previous", "--cells", "torch:planted", "--length", "8", "--hidden", "16",
        "--batch", "16", "--eval-size", "64", "--eval-every", "20", "--lr", "0.01",
        "--device", "cpu"]
TIMED = ["--length", "4", "--hidden", "4", "--batch", "4", "--eval-size", "16",
         "--eval-every", "1000", "--steps", "20", "--no-early-stop"]
"""Overrides for the speed tests: 20 timed steps, hardly any work besides the sleep."""
STEP_S = 0.05


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def plant(host):
    """``plant(forget=..., delay_s=...)`` (re)registers torch:planted with that fault."""
    lstm = host.registry.cells[("torch", "lstm")]

    def plant_(forget: bool = False, delay_s: float = 0.0) -> None:
        if "planted" in host.plugins:
            host.unregister("planted")
        host.register(Planted(lstm, forget, delay_s), "planted")

    yield plant_
    host.unregister("planted")


def run(out: Path, *args: str) -> Path:
    assert main(["run", *TINY, *args, "--out", str(out)]) == 0
    return out


def compare(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["compare", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_cell_that_forgets_fails(plant, tmp_path, capsys):
    plant()
    base = run(tmp_path / "base", "--steps", "100")
    plant(forget=True)
    head = run(tmp_path / "head", "--steps", "100")
    code, out, _ = compare(capsys, base, head)
    assert code == 1
    assert "regression: previous length=8 torch:planted seed 0: headline 1 → 0.2" in out, out
    answer = out.rstrip().splitlines()[-1]
    # The forgetting cell runs 8 one-step sequences in one batch, so it is also faster: an
    # idle machine judges speed and adds "improved: ... (speed); " between the two clauses.
    assert answer.startswith(
        "FAIL: 1 matched run; regressed: torch:planted on previous length=8 (accuracy); "), answer
    assert ("memory fell: torch:planted previous: remembers up to T=8 → none, torch:planted "
            "previous: solves up to T=8 → none") in answer, answer


def test_a_two_fold_slowdown_fails(plant, tmp_path, capsys):
    plant(delay_s=STEP_S)
    base = run(tmp_path / "base", *TIMED)
    plant(delay_s=2 * STEP_S)
    head = run(tmp_path / "head", *TIMED)
    # --strict-speed: judged whatever the load on this machine while the runs were timed
    # (the planted delay is a sleep); the load rule is tested in tests/compare/test_build.py
    code, out, _ = compare(capsys, base, head, "--json", "--strict-speed")
    assert code == 1
    (speed,) = [c for c in json.loads(out)["runs"][0]["changes"] if c["metric"] == "ms/step"]
    assert speed["verdict"] == "regression" and speed["fails"] and speed["ratio"] > 1.5


def test_timing_noise_between_runs_of_the_same_code_does_not_fail(plant, tmp_path, capsys):
    plant(delay_s=STEP_S)
    runs = [run(tmp_path / str(number), *TIMED) for number in range(4)]
    for base, head in zip(runs, runs[1:], strict=False):
        code, out, _ = compare(capsys, base, head)
        assert code == 0, out
    a, b = tmp_path / "a", tmp_path / "b"  # the same runs as two interleaved rounds, A B B A
    for side, number in [(a, 0), (b, 1), (b, 2), (a, 3)]:
        (side / str(number)).parent.mkdir(exist_ok=True)
        runs[number].rename(side / str(number))
    code, out, _ = compare(capsys, a, b, "--interleaved")
    assert code == 0, out


def test_interleaved_rounds_catch_a_slowdown(plant, tmp_path, capsys):
    for number, side in enumerate(["a", "b", "b", "a"]):  # reversed order every other round
        plant(delay_s=STEP_S if side == "a" else 2 * STEP_S)
        run(tmp_path / side / str(number), *TIMED)
    code, out, _ = compare(capsys, tmp_path / "a", tmp_path / "b", "--interleaved",
                           "--strict-speed")  # judged whatever the load, as above
    assert code == 1 and "regression: previous length=4 torch:planted seed 0: ms/step" in out
    assert "interleaved: step times compared round by round" in out


def write(directory: Path, *records) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for record in records:
        write_record(directory, record)
    return directory


def test_a_missing_run_is_listed_and_fails(tmp_path, capsys):
    base = write(tmp_path / "base", make_record(seed=0), make_record(seed=1))
    head = write(tmp_path / "head", make_record(seed=0), make_record(seed=2))
    code, out, _ = compare(capsys, base, head)
    assert code == 1
    assert "runs missing from the current results (fails):\n  adding length=10 " \
           "torch:lstm seed 1" in out
    assert "only in the current results (new):\n  adding length=10 torch:lstm seed 2" in out


def test_markdown_goes_to_stdout_or_is_appended_to_a_file(tmp_path, capsys):
    base = write(tmp_path / "base", make_record())
    head = write(tmp_path / "head", make_record())
    code, out, _ = compare(capsys, base, head, "--markdown")
    assert code == 0 and out.startswith(
        "## bench compare\n\n**OK: 1 matched run, no change beyond the rules.**")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    code, out, _ = compare(capsys, base, head, "--markdown", summary)
    assert code == 0 and out.startswith("adding length=10\n")  # the table still goes to stdout
    assert summary.read_text().startswith("earlier step\n## bench compare")


def schema_zero(path: Path) -> None:
    for file in path.glob("*.json"):
        file.write_text(file.read_text().replace('"schema_version": 1', '"schema_version": 0'))


BAD_INPUTS = {
    "different schema versions": (
        lambda d: (write(d / "a", make_record()), write(d / "b", make_record()),
                   schema_zero(d / "a")),
        "the records have different schema versions (baseline: 0; current: 1)"),
    "different tasks": (
        lambda d: (write(d / "a", make_record(task="adding")),
                   write(d / "b", make_record(task="copy"))),
        "nothing to compare: no run of the baseline has the spec of a run of the current "
        "results; they differ in task (baseline: adding; current: copy)"),
    "an empty directory": (
        lambda d: (write(d / "a"), write(d / "b", make_record())), "no run records in"),
    "a newer schema": (
        lambda d: (write(d / "a", make_record()), (d / "b").mkdir(),
                   (d / "b" / "r.json").write_text('{"schema": "bench.run", '
                                                   '"schema_version": 9}')),
        "schema_version 9 is newer than this bench understands"),
    "a missing path": (lambda d: write(d / "a", make_record()), "no such results directory"),
    "rounds that were not interleaved": (
        lambda d: [write(d / side / str(i), make_record(started_at=f"2026-01-01T00:00:{t}"))
                   for side, i, t in [("a", 1, 10), ("a", 2, 11), ("b", 1, 12), ("b", 2, 13)]],
        "--interleaved: the rounds of adding length=10 torch:lstm seed 0 were not run alternately"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_clear_line_and_exit_2(case, tmp_path, capsys):
    prepare, message = BAD_INPUTS[case]
    prepare(tmp_path)
    extra = ["--interleaved"] if "interleaved" in case else []
    code, out, err = compare(capsys, tmp_path / "a", tmp_path / "b", *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("bench: error: ") and message in err


def test_a_side_inside_the_other_or_the_same_is_refused(tmp_path, capsys):
    write(tmp_path / "a", make_record())
    write(tmp_path / "a" / "head", make_record())
    cases = [((tmp_path / "a", f"{tmp_path / 'a'}/."),
              f"BASELINE and CURRENT are the same, '{tmp_path / 'a'}'; give the results of two "
              "runs to compare"),
             ((tmp_path / "a", tmp_path / "a" / "head"),
              f"CURRENT '{tmp_path / 'a' / 'head'}' lies inside BASELINE '{tmp_path / 'a'}', "
              "whose records would include it; give two directories apart"),
             ((tmp_path / "a" / "head", tmp_path / "a"),
              f"BASELINE '{tmp_path / 'a' / 'head'}' lies inside CURRENT '{tmp_path / 'a'}', "
              "whose records would include it; give two directories apart")]
    for sides, message in cases:
        assert compare(capsys, *sides) == (2, "", f"bench: error: {message}\n")


@pytest.mark.parametrize("option, message", [
    (["--alpha", "1.5"], "argument --alpha: must be in (0, 1), got 1.5"),
    (["--speed-factor", "0.9"], "argument --speed-factor: must be >= 1, got 0.9"),
    (["--markdown", "--json"], "not allowed with argument"),
    (["--markdown", ""], "argument --markdown: must name a file, got an empty string"),
])
def test_bad_options_are_usage_errors(option, message, capsys):
    code, _, err = compare(capsys, "a", "b", *option)
    assert code == 2 and message in err


def test_a_markdown_file_it_cannot_write_is_refused_before_the_comparison(tmp_path, capsys):
    base = write(tmp_path / "base", make_record())
    head = write(tmp_path / "head", make_record())
    (tmp_path / "afile").write_text("")
    code, out, err = compare(capsys, base, head, "--markdown", tmp_path / "afile" / "x.md")
    assert code == 2 and out == ""
    assert err.startswith("bench: error: cannot write Markdown to ") and "is not a directory" in err


def test_bench_run_suite_runs_every_entry(host, tmp_path, capsys):
    suite = tmp_path / "tiny.toml"
    suite.write_text('[defaults]\ncells = "torch:rnn"\nhidden = 8\nbatch = 8\nsteps = 6\n'
                     'eval_size = 32\ndevice = "cpu"\n'
                     '[[runs]]\ntask = "adding"\nlength = 4\n'
                     '[[runs]]\ntask = "copy"\nlength = 2\nseeds = [0, 1]\n'
                     '[[runs]]\ntask = "copy"\nlength = 2\nhidden = 12\n')
    assert main(["run", "--suite", str(suite), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert "adding length=4" in out and "copy length=2" in out  # a summary per setting
    assert [line.split(": ")[0] for line in err.splitlines() if "started" in line] == [
        "torch:rnn length=4 seed 0", "torch:rnn (hidden=8) length=2 seed 0",
        "torch:rnn (hidden=8) length=2 seed 1", "torch:rnn (hidden=12) length=2 seed 0"]
    records = load_results(tmp_path / "out").records
    assert sorted((r.spec.task, r.spec.hidden, r.spec.seed) for r in records) == [
        ("adding", 8, 0), ("copy", 8, 0), ("copy", 8, 1), ("copy", 12, 0)]
    # it ends with a verdict per cell and setting, naming the option that tells the two copy
    # entries apart (merged, they would read as one cell with three seeds)
    adding, small, large = out.rstrip().splitlines()[-3:]
    assert adding.startswith("torch:rnn") and " adding at T=4 (accuracy " in adding
    assert not adding.startswith("torch:rnn (")  # alone on its task: nothing to tell apart
    assert small.startswith("torch:rnn (hidden=8)") and small.endswith("; 2 seeds.")
    assert large.startswith("torch:rnn (hidden=12)") and large.endswith("; 1 seed.")
    assert all(" copy at T=2 (recall_accuracy " in line for line in (small, large))
    # the tables tell them apart too: the runs of one entry together, a row each across seeds
    copy_runs = out[out.index("copy length=2"):out.index("across seeds")]
    assert [line.split()[:3] for line in copy_runs.splitlines()
            if line.startswith("torch:rnn")] == [["torch:rnn", "(hidden=8)", "0"],
                                                 ["torch:rnn", "(hidden=8)", "1"],
                                                 ["torch:rnn", "(hidden=12)", "0"]]
    across = out[out.index("across seeds"):out.index(adding)]
    assert [line.split()[:3] for line in across.splitlines()
            if line.startswith("torch:rnn")] == [["torch:rnn", "(hidden=8)", "2"],
                                                 ["torch:rnn", "(hidden=12)", "1"]]
    # bench report on these records answers as the run did
    assert main(["report", str(tmp_path / "out"), "--out", str(tmp_path / "report")]) == 0
    assert sorted(capsys.readouterr().out.splitlines()[1:]) == sorted([adding, small, large])
    assert main(["run", "--suite", str(suite), "--steps", "9"]) == 2
    assert "fixes the runs; drop --steps" in capsys.readouterr().err


def test_bad_input_through_the_console_script(bench, tmp_path):
    base = write(tmp_path / "base", make_record())
    result = bench("compare", str(base), str(tmp_path / "nothing"))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"bench: error: no such results directory or file: " \
                            f"'{tmp_path / 'nothing'}'\n"


def test_piped_at_80_columns_the_tables_keep_numbers_whole_in_parts(bench, tmp_path):
    """Too wide for 80 columns with whole numbers, the table comes in two parts."""
    def side(headline: float, step_ms: float) -> list:
        return [make_record(cell, seed, headline=headline + seed / 1000,
                            step_ms=step_times(step_ms, seed=seed))
                for cell in ("torch:rnn", "torch:gru") for seed in (0, 1)]

    baseline, current = side(0.000781, 10.0), side(0.000313, 10.4)
    result = bench("compare", str(write(tmp_path / "base", *baseline)),
                   str(write(tmp_path / "current", *current)), env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    tables_ = tables(compare_runs(baseline, current, Rules()))
    assert_tables_whole(result.stdout.split("\ncommits:")[0], tables_, 80)
    assert "adding length=10 (part 2 of 2)" in result.stdout
