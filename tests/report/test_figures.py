import dataclasses

import pytest

from harness.records import EvalPoint, load_results
from tests.report.helpers import real_sweep

matplotlib = pytest.importorskip("matplotlib")

from harness.report.figures import cell_colours, task_figures  # noqa: E402


@pytest.fixture
def records(host, tmp_path_factory):
    return load_results(real_sweep(tmp_path_factory.getbasetemp())).records


def test_figures_without_data_are_left_out_and_bad_numbers_do_not_break_them(records):
    one_length = [r for r in records if r.spec.task_params["length"] == 4]
    diverged = dataclasses.replace(one_length[0], status="diverged", accuracy=dataclasses.replace(
        one_length[0].accuracy, curve=[EvalPoint(0, 0.0, float("nan"), float("nan"), 0.0)]))
    bare = [dataclasses.replace(r, speed=None, stability=dataclasses.replace(
        r.stability, gradient_profile=None)) for r in [diverged, *one_length[1:]]]
    colours = cell_colours(r.spec.cell for r in records)
    assert [p.title for p in task_figures("adding", bare, colours)] == [
        "Learning curves — adding", "Gradient norms — adding"]
    all_diverged = [dataclasses.replace(r, status="diverged", accuracy=diverged.accuracy)
                    for r in bare]
    assert [p.title for p in task_figures("adding", all_diverged, colours)] == [
        "Gradient norms — adding"]  # no empty learning-curve panels
    failed = [dataclasses.replace(r, status="failed", accuracy=None, speed=None, stability=None)
              for r in records]
    assert task_figures("adding", failed, colours) == []


def test_a_cell_keeps_its_colour_whichever_cells_are_shown():
    colours = cell_colours(["torch:rnn", "torch:lstm", "keras:lstm", "torch:rnn"])
    assert len(set(colours.values())) == 3
    assert colours == cell_colours(["keras:lstm", "torch:lstm", "torch:rnn"])
