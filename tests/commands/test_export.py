"""``bench export`` and ``harness.export``: records of a real sweep as one flat table."""

import json
import shutil

import pytest

from harness.cli import main
from harness.export import PER_STEP_FIELDS, load_dataframe
from harness.records import load_results
from tests.report.helpers import real_sweep

pd = pytest.importorskip("pandas")


@pytest.fixture
def sweep(host, tmp_path_factory, tmp_path):
    return shutil.copytree(real_sweep(tmp_path_factory.getbasetemp()), tmp_path / "results")


def test_one_row_per_run_with_flat_columns_that_match_the_records(sweep):
    frame = load_dataframe(sweep)
    records = {r.run_id: r for r in load_results(sweep).records}
    assert sorted(frame.index) == sorted(records) and len(frame) == 8
    for run_id, record in records.items():
        row = frame.loc[run_id]
        assert row["spec.cell"] == record.spec.cell
        assert row["spec.task_params.length"] == record.spec.task_params["length"]
        assert row["spec.seed"] == record.spec.seed
        assert row["accuracy.headline"] == pytest.approx(record.accuracy.headline)
        assert row["speed.step_ms_median"] == pytest.approx(record.speed.step_ms_median)
        assert row["stability.grad_norm_max"] == pytest.approx(record.stability.grad_norm_max)
        assert row["environment.backend"] == "torch"
    assert not {c for c in frame.columns if c in PER_STEP_FIELDS or c.startswith(
        tuple(f + "." for f in PER_STEP_FIELDS))}
    by_length = frame.groupby("spec.task_params.length")["accuracy.loss_ratio"].count()
    assert by_length.to_dict() == {4: 4, 8: 4}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_a_table_that_reads_back(sweep, fmt, capsys):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    assert main(["export", str(sweep), "--format", fmt]) == 0
    out = sweep / f"runs.{fmt}"
    frame = pd.read_csv(out, index_col="run_id") if fmt == "csv" else pd.read_parquet(out)
    expected = load_dataframe(sweep)
    assert sorted(frame.index) == sorted(expected.index)
    assert list(frame.columns) == list(expected.columns)
    assert frame.loc[expected.index[0], "spec.cell"] == expected.iloc[0]["spec.cell"]
    assert capsys.readouterr().out == f"wrote {out} (8 runs, {expected.shape[1]} columns)\n"
    assert [p.name for p in sweep.iterdir() if p.name.startswith(".tmp-")] == []


def test_an_unreadable_file_is_named_and_skipped(sweep, capsys):
    (sweep / "broken.json").write_text("{not json")
    assert main(["export", str(sweep), "-o", str(sweep / "out.csv")]) == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "broken.json" in err
    assert len(pd.read_csv(sweep / "out.csv")) == 8


def test_bad_output_directory_is_one_line_and_exit_2(sweep, tmp_path, capsys):
    target = tmp_path / "missing" / "runs.csv"
    assert main(["export", str(sweep), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such directory" in err and "Traceback" not in err
    assert not target.parent.exists()


@pytest.mark.parametrize("out, message", [
    ("{sweep}", "bench: error: --out '{sweep}' is a directory; --out names the file to write, "
                "such as '{sweep}/runs.csv'"),
    ("/proc/runs.csv", "bench: error: cannot write the table to '/proc/runs.csv': No such file "
                       "or directory"),
])
def test_an_out_that_cannot_be_written_is_one_line_and_exit_2(sweep, capsys, out, message):
    out = out.format(sweep=sweep)
    before = sorted(p.name for p in sweep.iterdir())
    assert main(["export", str(sweep), "-o", out]) == 2
    assert capsys.readouterr().err == message.format(sweep=sweep) + "\n"
    assert sorted(p.name for p in sweep.iterdir()) == before


def test_a_directory_where_the_default_output_goes_is_named_as_the_default(sweep, capsys):
    (sweep / "runs.csv").mkdir()
    assert main(["export", str(sweep)]) == 2
    assert capsys.readouterr().err.startswith(
        f"bench: error: the default output '{sweep / 'runs.csv'}' is a directory; --out names ")


def test_the_format_follows_the_out_extension_and_may_not_contradict_it(sweep, capsys):
    pytest.importorskip("pyarrow")
    assert main(["export", str(sweep), "-o", str(sweep / "runs.parquet")]) == 0
    assert (sweep / "runs.parquet").read_bytes()[:4] == b"PAR1"
    assert main(["export", str(sweep), "--format", "parquet", "-o", str(sweep / "t.csv")]) == 2
    assert capsys.readouterr().err.endswith(
        f"bench: error: --format parquet but --out '{sweep / 't.csv'}' names a .csv file; name "
        "it .parquet, or leave --format out\n")
    assert not (sweep / "t.csv").exists()
    assert main(["export", str(sweep), "-o", str(sweep / "runs.xlsx")]) == 2
    assert capsys.readouterr().err == (
        f"bench: error: --out '{sweep / 'runs.xlsx'}': bench writes .csv or .parquet, not "
        ".xlsx; name the file .csv or .parquet, or give --format\n")
    assert not (sweep / "runs.xlsx").exists()
    assert main(["export", str(sweep), "-o", str(sweep / "runs")]) == 0  # no extension: CSV
    assert (sweep / "runs").read_text().startswith("run_id,status,")


def test_without_pandas_the_message_says_what_to_install(sweep, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)
    assert main(["export", str(sweep)]) == 2
    assert capsys.readouterr().err == ("bench: error: exporting records needs pandas: pip "
                                       "install 'bench-harness[analysis]'\n")
    assert not (sweep / "runs.csv").exists()
    assert json.loads(next(sweep.glob("*.json")).read_text())["schema"] == "bench.run"
