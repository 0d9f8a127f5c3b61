"""The training protocol from the command line and from a suite's [defaults]: recorded in
every record, part of the run id only when it is not the default, nonsense refused."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.protocol import LrSchedule
from harness.spec import RunSpec
from tests.helpers import TINY_RUN

RUN = ["run", "--task", "adding", "--cells", "torch:rnn", "--length", "4", "--steps", "4",
       *TINY_RUN]
PROTOCOL = {"init": "framework", "epsilon": 1e-6, "weight_decay": 0.01, "clip_norm": None,
            "clip_value": 0.5, "lr_schedule": "step:2:0.5"}
PROTOCOL_OPTIONS = ["--init", "framework", "--epsilon", "1e-6", "--weight-decay", "0.01",
                    "--clip-value", "0.5", "--lr-schedule", "step:2:0.5"]


def spec_of(record: dict) -> dict:
    return {name: record["spec"][name] for name in PROTOCOL}


def test_every_record_carries_the_protocol(tmp_path, capsys, host):
    assert main([*RUN, "--out", str(tmp_path), "--json", *PROTOCOL_OPTIONS]) == 0
    (record,) = json.loads(capsys.readouterr().out)["records"]
    assert spec_of(record) == PROTOCOL
    assert record["stability"]["clipped_fraction"] is None  # no norm clip to exceed


def test_a_suites_defaults_hold_the_protocol(tmp_path, capsys, host):
    suite = tmp_path / "paper.toml"
    suite.write_text('description = "a paper\'s protocol"\n[defaults]\ninit = "framework"\n'
                     'epsilon = 1e-6\nweight_decay = 0.01\nclip_value = 0.5\n'
                     'lr_schedule = "step:2:0.5"\noptimizer = "rmsprop"\n'
                     '[[runs]]\ntask = "adding"\ncells = ["torch:rnn"]\nlength = 4\nsteps = 4\n'
                     'hidden = 8\nbatch = 8\neval_size = 32\neval_every = 5\n')
    assert main(["run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["records"]
    assert spec_of(record) == PROTOCOL and record["spec"]["optimizer"] == "rmsprop"


def test_clip_none_turns_clipping_off(tmp_path, capsys, host):
    assert main([*RUN, "--out", str(tmp_path), "--json", "--clip", "none"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["records"]
    assert record["spec"]["clip_norm"] is None and record["spec"]["clip_value"] is None


@pytest.mark.parametrize(("options", "message"), [
    (["--clip-value", "-1"], "--clip-value must be a finite positive number, got -1"),
    (["--clip-value", "nan"], "--clip-value must be a finite positive number, got nan"),
    (["--clip", "0"], "--clip must be a finite positive number, got 0"),
    (["--clip", "often"], "argument --clip/--clip-norm: expected a positive number or none"),
    (["--clip", "1", "--clip-value", "1"], "argument --clip-value: not allowed with argument"),
    (["--epsilon", "0"], "--epsilon must be a finite positive number, got 0"),
    (["--epsilon", "1e-6", "--optimizer", "sgd"],
     "--epsilon 1e-06 does not apply to --optimizer sgd (valid with: adam, rmsprop)"),
    (["--weight-decay", "-0.1"], "--weight-decay must be a finite number >= 0, got -0.1"),
    (["--init", "glorot"], "argument --init: invalid choice: 'glorot'"),
    (["--lr-schedule", "step:0:0.5"], "--lr-schedule 'step:0:0.5' is not a schedule (valid: "
     "constant, step:EVERY:FACTOR, cosine"),
    (["--lr-schedule", "step:10:2"], "FACTOR in (0, 1]"),
    (["--lr-schedule", "linear"], "--lr-schedule 'linear' is not a schedule"),
])
def test_nonsense_is_refused_in_one_line(tmp_path, capsys, host, options, message):
    out = tmp_path / "out"
    assert main([*RUN, "--out", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_run_ids_change_only_for_a_protocol_that_is_not_the_default():
    spec = RunSpec(task="copy", cell="torch:lstm")
    assert spec.run_id == "0e9c3d0fb8aa"  # the id records made before protocols carry
    old_record = {k: v for k, v in spec.to_dict().items() if k not in PROTOCOL or
                  k == "clip_norm"}
    assert RunSpec.from_dict(old_record).run_id == spec.run_id
    ids = {RunSpec(task="copy", cell="torch:lstm", **{name: value}).run_id
           for name, value in PROTOCOL.items()}
    assert len(ids) == len(PROTOCOL) and spec.run_id not in ids


def test_a_step_schedule_is_a_staircase_and_cosine_ends_at_zero():
    step = LrSchedule.parse("step:3:0.5")
    assert [step.factor_at(t, 10) for t in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    cosine = LrSchedule.parse("cosine")
    assert cosine.factor_at(0, 4) == 1 and cosine.factor_at(2, 4) == pytest.approx(0.5)
    assert cosine.factor_at(4, 4) == 0 and cosine.factor_at(9, 4) == 0
    assert LrSchedule.parse("constant").factor_at(99, 4) == 1


def test_framework_init_is_refused_for_a_cell_without_one(tmp_path, capsys, host):
    """bench_longmem's cells hold placeholders until their canonical weights are loaded."""
    import bench_longmem.plugin

    host.register(bench_longmem.plugin.torch_cells, "longmem_torch")
    options = ["--cells", "torch:indrnn", "--init", "framework", "--out", str(tmp_path / "o")]
    assert main([*RUN, *options]) == 2
    err = capsys.readouterr().err
    assert "cell 'torch:indrnn' has no framework initialisation" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
