"""Wall time of a sweep of 20 tiny runs through ``local`` against ``process --workers 2``,
as a user types it: the whole ``bench run`` command, start-up and framework imports
included, since for tiny runs those are what a worker pool must win back."""

from __future__ import annotations

import os

from .conftest import interleaved_medians

TINY_SWEEP = ("run", "--task", "copy", "--cells", "torch:rnn,torch:lnrnn", "--length", "10",
              "--seeds", ",".join(str(seed) for seed in range(10)), "--steps", "40",
              "--hidden", "32", "--batch", "32", "--eval-every", "20", "--eval-size", "128",
              "--force")


def test_process_pool_against_local_for_20_tiny_runs(benchmark, bench, tmp_path):
    env = {**os.environ, "BENCH_PLUGINS": "tasks,torch"}

    def sweep(*executor: str):
        def run():
            result = bench(*TINY_SWEEP, "--out", str(tmp_path / executor[-1]), *executor,
                           env=env)
            assert result.returncode == 0, result.stderr
        return run

    runs = {"local": sweep("--executor", "local"),
            "process": sweep("--executor", "process", "--workers", "2")}
    medians = interleaved_medians(runs, rounds=3, warmup=0)
    benchmark.extra_info.update(local_s=medians["local"], process_s=medians["process"])
    benchmark.pedantic(runs["process"], rounds=1, iterations=1)
    print(f"\n20 tiny runs: local {medians['local']:.2f} s, process --workers 2 "
          f"{medians['process']:.2f} s, ratio {medians['process'] / medians['local']:.2f}")
