"""The least memory of a run (harness/footprint.py): what it counts and what it refuses."""

import pytest

import bench_longmem.plugin
from harness.cli import main
from harness.errors import UsageError
from harness.footprint import check_fits, footprint
from harness.runner import build_trainer, plan
from harness.spec import RunSpec
from tests.helpers import make_host

GIB = 2**30


def _run(registry, cell: str, length: int = 5, **sizes) -> tuple[RunSpec, object, object]:
    spec = RunSpec(task="copy", cell=cell, task_params={"length": length}, **sizes)
    task = registry.task("copy").build(spec.task_params)
    (resolved,) = registry.resolve_cells([cell])
    return spec, task, resolved


def test_the_weights_counted_are_those_each_cell_trains():
    """The weights (no gradient or optimiser state: sgd, with gradients only, holds two
    copies) of a real trainer of every torch cell, at a size the count never drew."""
    registry = make_host("tasks", "torch", longmem=bench_longmem.plugin.torch_cells).registry
    for name, cell in registry.cells.items():
        if name[0] != "torch":
            continue
        spec, task, _ = _run(registry, cell.qualified_name, hidden=9, batch=1, eval_size=1,
                             optimizer="sgd", device="cpu")
        trainer = build_trainer(plan(spec, registry))
        counted = footprint(spec, task, cell).weights // (2 * 4)
        assert counted == trainer.parameter_count, cell.qualified_name


def test_adam_holds_two_more_copies_of_the_weights_than_sgd(registry):
    spec, task, cell = _run(registry, "torch:lstm", hidden=32)
    sgd = footprint(RunSpec(**{**spec.to_dict(), "optimizer": "sgd"}), task, cell).weights
    assert footprint(spec, task, cell).weights == 2 * sgd


def test_a_batch_whose_outputs_and_states_cannot_fit_is_refused(registry):
    """Inputs alone (9.3 GiB) fit in 24 GiB; with targets, hidden states and outputs the
    batch needs 27.9 GiB."""
    spec, task, cell = _run(registry, "torch:rnn", hidden=8, batch=10_000_000, steps=1)
    with pytest.raises(UsageError, match=r"needs at least 27\.9 GiB .*training batch 27\.9 GiB "
                                         r"at --batch 10000000 × 25 time steps.* more than "
                                         r"the 24\.0 GiB available"):
        check_fits(spec, task, cell, available=24 * GIB)


def test_the_main_job_and_ordinary_sizes_fit_in_a_small_machine(registry):
    """The default sizes up to the length search's longest length (4096), and a larger
    ordinary run, each well under 2 GiB."""
    for cell in ("torch:lstm", "torch:lnrnn", "torch:gru"):
        check_fits(*_run(registry, cell, length=4096), available=2 * GIB)
        check_fits(*_run(registry, cell, length=1000, hidden=512, batch=256),
                   available=2 * GIB)


def test_weights_that_cannot_fit_are_refused_before_any_file(host, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "--task", "copy", "--cells", "torch:rnn", "--hidden", "1000000",
                 "--length", "5", "--steps", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and not out.exists()
    assert "weights with gradients and adam state 14,901.5 GiB at --hidden 1000000" in err
