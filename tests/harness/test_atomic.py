import stat

import pytest

from harness.atomic import write_files


def test_files_appear_whole_and_readable_by_others(tmp_path):
    a, b = tmp_path / "report.html", tmp_path / "summary.md"
    write_files({a: "<html>é</html>", b: "# summary"})
    assert a.read_text(encoding="utf-8") == "<html>é</html>" and b.read_text() == "# summary"
    assert stat.S_IMODE(a.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "summary.md"]


def test_a_failure_on_any_file_writes_none_and_leaves_old_files_alone(tmp_path):
    old = tmp_path / "report.html"
    old.write_text("previous report")
    with pytest.raises(FileNotFoundError):
        write_files({old: "new report", tmp_path / "gone" / "summary.md": "new summary"})
    assert old.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary left
