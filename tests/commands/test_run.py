import json
import re

import pytest
import torch

from harness.cli import main
from harness.records import load_results
from harness.sweep import summarise_cells
from harness.tables import seeds_table, summary_table
from tests.helpers import ERROR_LINE, TINY_RUN, assert_tables_whole


def test_run_trains_writes_records_and_prints_the_table(bench, tmp_path):
    out = tmp_path / "results"
    result = bench("run", "--task", "adding", "--cells", "lstm,rnn", "--length", "6",
                   "--steps", "12", "--seeds", "0,1", "--out", str(out), *TINY_RUN,
                   env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    *tables, lstm_answer, rnn_answer = result.stdout.rstrip().splitlines()
    # it ends with a line per cell: whether it remembers at that length, over both seeds
    assert re.fullmatch(r"torch:lstm: no memory detected on adding at T=6 \(accuracy [\d.]+ vs "
                        r"chance 0\.0784, p (= [\d.e-]+|> 0\.99)\); 2 seeds\.", lstm_answer)
    assert rnn_answer.startswith("torch:rnn: no memory detected on adding at T=6 (accuracy ")
    # piped, at 80 columns: headers wrap, names and numbers are never cut
    assert max(map(len, tables)) <= 80 and "…" not in result.stdout
    tables = "\n".join(tables)
    for column in ("accuracy", "loss/", "ms/", "tokens", "p99", "kernel path: torch:lstm"):
        assert column in tables
    # without a terminal, a plain line per run at its start and end, with its wall time
    assert result.stderr.count(": started (") == 4
    assert re.search(r"torch:rnn length=6 seed 1: ok in (\d+\.\d s|\d+:\d\d:\d\d), 12 steps",
                     result.stderr)
    # one row per seed, its kernel path, then one row per cell in each part of the
    # across-seeds table (at 80 columns its headline median [min, max] is kept whole)
    parts = tables.count("across seeds")
    assert parts >= 1
    assert tables.count("torch:lstm") == 3 + parts and tables.count("torch:rnn") == 3 + parts
    assert re.search(r"\ntorch:lstm +2 +[\d.]+ \[[\d.]+, [\d.]+\] ", tables)
    assert "chance 0.0784" in result.stdout
    assert re.search(rf"records in {re.escape(str(out))}/ \(4 runs; took "
                     r"(\d+\.\d s|\d+:\d\d:\d\d)\)\n", result.stderr)
    runs = load_results(out).records
    assert_tables_whole(tables, [summary_table(runs, title="adding length=6"),
                                        seeds_table(summarise_cells(runs), runs)], 80)
    records = sorted(out.glob("*.json"))
    assert len(records) == 4
    data = json.loads(records[0].read_text())
    assert data["schema"] == "bench.run" and data["status"] == "ok"
    assert data["spec"]["task_params"] == {"length": 6} and data["steps_done"] == 12

    again = bench("run", "--task", "adding", "--cells", "lstm", "--length", "6", "--steps", "12",
                  "--out", str(out), *TINY_RUN)
    assert again.returncode == 0 and "already recorded, skipped" in again.stderr
    assert len(list(out.glob("*.json"))) == 4


def test_a_task_without_a_length_ends_with_each_cells_verdict(tmp_path, capsys, host):
    """digits has no length: the answer names the task alone, and the verdict follows the
    memory test over the held-out images (ten classes, chance 0.1)."""
    assert main(["run", "--task", "digits", "--cells", "torch:rnn", "--steps", "40", "--out",
                 str(tmp_path), "--hidden", "16", "--batch", "16", "--eval-size", "64"]) == 0
    answer = capsys.readouterr().out.rstrip().splitlines()[-1]
    (record,) = load_results(tmp_path).records
    said = ("torch:rnn remembers digits without solving it" if record.accuracy.memory.remembers
            else "torch:rnn: no memory detected on digits")
    assert re.fullmatch(re.escape(said) + r" \(accuracy [\d.]+ vs chance 0\.1, p [<=] [\d.e-]+\); "
                        r"1 seed\.", answer), answer


def test_run_json_output_has_the_records(tmp_path, capsys, host):
    code = main(["run", "--task", "copy", "--cells", "torch:lnrnn", "--length", "3",
                 "--steps", "6", "--out", str(tmp_path), "--json", "--recurrent-dropout", "0.2",
                 "--device", "cpu",
                 *TINY_RUN])
    assert code == 0
    output = json.loads(capsys.readouterr().out)
    assert output["memory"] == []  # one length: no memory length to state
    (answer,) = output["answers"]  # but the line the text output ends with
    assert re.fullmatch(r"torch:lnrnn(:| solves| remembers) .*copy at T=3 \(recall_accuracy "
                        r".*; 1 seed\.", answer), answer
    (record,) = output["records"]
    assert record["spec"]["cell"] == "torch:lnrnn"
    assert record["spec"]["options"] == {"recurrent_dropout": 0.2}
    assert record["speed"]["kernel_path"] == "bench-compiled"  # auto on the CPU (README)
    assert record["spec"]["kernel"] == "auto"
    assert record["accuracy"]["headline_name"] == "recall_accuracy"


def test_failed_run_does_not_stop_the_others_and_exits_1(tmp_path, capsys, toy_host):
    code = main(["run", "--task", "echo", "--cells", "broken,rnn", "--length", "5", "--steps", "5",
                 "--out", str(tmp_path), *TINY_RUN])
    assert code == 1
    statuses = sorted(json.loads(p.read_text())["status"] for p in tmp_path.glob("*.json"))
    assert statuses == ["failed", "ok"]


BAD_INPUTS = [
    (["--task", "cpy", "--cells", "lstm"], "unknown task 'cpy'; did you mean 'copy'? "
     "(available: adding, copy, "),
    (["--task", "copy", "--cells", "lstn"], "unknown cell 'lstn'; did you mean 'lstm'?"),
    (["--task", "copy", "--cells", "lstm", "--backend", "tf"], "unknown backend 'tf'"),
    (["--task", "copy", "--cells", "lstm", "--length", "0"],
     "task parameter 'length' must be >= 1, got 0"),
    (["--task", "copy", "--cells", "lstm", "--batch", "0"],
     "--batch must be a whole number from 1 to 2147483647, got 0"),
    (["--task", "copy", "--cells", "lstm", "--steps", "99999999999999999999"],
     "--steps must be a whole number from 1 to 2147483647, got 99999999999999999999"),
    (["--task", "copy", "--cells", "lstm", "--threads", "100000"],
     "argument --threads: expected a whole number of threads from 1 to 1024, got '100000'"),
    (["--task", "copy", "--cells", "lstm", "--lr", "-0.1"],
     "--lr must be a finite positive number, got -0.1"),
    (["--task", "copy", "--cells", "lstm", "--lr", "inf"],
     "--lr must be a finite positive number, got inf"),
    (["--task", "copy", "--cells", "lstm", "--clip", "nan"],
     "--clip must be a finite positive number, got nan"),
    (["--task", "copy", "--cells", "lstm", "--param", "length=5", "--length", "6"],
     "--param length=5 and --length both set the length; give only --length"),
    (["--task", "copy", "--cells", "lstm", "--param", "length=5", "--lengths", "6,7"],
     "--param length=5 and --lengths both set the length"),
    (["--task", "copy", "--cells", "lstm", "--param", "length=5", "--param", "length=6"],
     "--param length is given twice ('5' and '6'); give it once"),
    (["--task", "copy", "--cells", "lstm", "--scheduler", "tcp://127.0.0.1:1"],
     "--scheduler tcp://127.0.0.1:1 is an option of --executor dask; the local executor"),
    (["--task", "copy", "--cells", "lstm", "--executor", "process", "--scheduler", "x:1"],
     "the process executor runs on this machine"),
    (["--task", "copy", "--cells", "lstm", "--seeds", "99999999999999999999999"],
     "seeds must be in [0, 4294967295], got '99999999999999999999999'"),
    (["--task", "copy", "--cells", "lstm", "--dropout", "1"],
     "--dropout must be in [0, 1), got 1\n"),
    (["--task", "copy", "--cells", "lstm", "--steps", "1.5"],
     "bench run: error: --steps takes a whole number, got '1.5'"),
    (["--task", "copy", "--cells", "lstm", "--lr", "fast"],
     "bench run: error: --lr takes a number, got 'fast'"),
    (["--task", "copy", "--cells", "lstm", "--param", "delay=3"],
     "unknown parameter 'delay' of task 'copy'"),
    (["--task", "copy", "--cells", "lstm", "--seeds", "a,b"],
     "bench run: error: argument --seeds: invalid seeds 'a,b'"),
    (["--task", "copy", "--cells", "lstm", "--optimizer", "adamw"],
     "argument --optimizer: invalid choice: 'adamw'"),
    (["--task", "copy"], "bench run: error: the following arguments are required: --cells"),
    (["--task", "digits", "--cells", "lstm", "--lengths", "5,10"],
     "--lengths: task 'digits' has no length (its parameters: permuted)"),
]


@pytest.mark.parametrize("args, message", BAD_INPUTS)
def test_bad_input_is_one_clear_line_and_exit_2(args, message, tmp_path, capsys, host):
    out = tmp_path / "out"
    assert main(["run", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert ERROR_LINE.fullmatch(err), err
    assert message in err
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_cell_seed_or_length_given_twice_is_run_once_with_a_warning(tmp_path, capsys, host):
    """rnn includes torch:rnn: the torch cell is asked for three times."""
    code = main(["run", "--task", "adding", "--cells", "torch:rnn,torch:rnn,rnn", "--seeds",
                 "0,0,1", "--lengths", "5,5", "--steps", "2", "--out", str(tmp_path),
                 *TINY_RUN])
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert code == 0 and warnings == [
        "bench: warning: seed 0 given twice; running it once",
        "bench: warning: length 5 given twice; running it once",
        "bench: warning: torch:rnn given 3 times; running it once",
    ]
    assert sorted(p.name.split("-")[3:5] for p in tmp_path.glob("*.json")) == [
        ["rnn", "seed0"], ["rnn", "seed1"]]


def test_cuda_where_there_is_none_through_the_console_script(bench, tmp_path):
    result = bench("run", "--task", "copy", "--cells", "lstm", "--device", "cuda",
                   "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bench: error: device 'cuda' is not available to backend 'torch' (available: cpu)")
    assert not (tmp_path / "out").exists()


def test_unwritable_output_directory(bench, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = bench("run", "--task", "copy", "--cells", "lstm", "--out", str(blocker / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"cannot write results to '{blocker}/out'" in result.stderr
    assert blocker.read_text() == ""


def test_debug_variable_shows_the_traceback(bench, tmp_path):
    result = bench("run", "--task", "nope", "--cells", "lstm", env={"BENCH_DEBUG": "1"})
    assert result.returncode == 2 and "Traceback" in result.stderr
