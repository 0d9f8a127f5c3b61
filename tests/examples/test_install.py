"""The example plugins installed the way their users would: into a virtualenv, next to bench.

Marked ``venv`` (a virtualenv and pip installs, about half a minute): deselect with
``-m "not venv"``. The new environment sees this test environment's packages (torch,
pytest, pip, hatchling) through a ``.pth`` file instead of installing them again, and gets
bench and the plugin by ``pip install --no-deps``, so it needs no network when hatchling is
installed here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import TINY_RUN

pytestmark = [pytest.mark.venv, pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="the peephole cell needs torch")]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "plugins" / "examples" / "bench_peephole"
KERAS_EXAMPLE = ROOT / "plugins" / "examples" / "bench_leaky_ln"
PLUGINS = "tasks,torch,peephole"
"""BENCH_PLUGINS in the virtualenv: the example and what it needs (not Keras: faster)."""


class Venv:
    def __init__(self, path: Path):
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
        self.python = path / "bin" / "python"
        paths = json.loads(self.run(str(self.python), "-c", "import json, sysconfig; "
                                    "print(json.dumps(sysconfig.get_paths()))").stdout)
        self.bin = Path(paths["scripts"])
        here = sysconfig.get_paths()
        (Path(paths["purelib"]) / "bench-test-parent.pth").write_text(
            "\n".join(dict.fromkeys([here["purelib"], here["platlib"]])) + "\n")

    def run(self, *args: str, cwd: Path | None = None, plugins: str = PLUGINS
            ) -> subprocess.CompletedProcess:
        env = {**os.environ, "BENCH_PLUGINS": plugins}
        return subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd,
                              timeout=300)

    def pip_install(self, *args: str) -> None:
        isolation = [] if importlib.util.find_spec("hatchling") is None else [
            "--no-build-isolation"]
        done = self.run(str(self.python), "-m", "pip", "install", "--quiet", "--no-deps",
                        *isolation, *args)
        assert done.returncode == 0, done.stderr

    def bench(self, *args: str, plugins: str = PLUGINS) -> subprocess.CompletedProcess:
        return self.run(str(self.bin / "bench"), *args, plugins=plugins)


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    env = Venv(tmp_path_factory.mktemp("venv") / "env")
    env.pip_install(str(ROOT))
    return env


def test_the_installed_plugin_is_listed_checked_and_runs(venv, tmp_path):
    venv.pip_install(str(EXAMPLE))

    listed = json.loads(venv.bench("list", "--json").stdout)
    torch_backend = next(b for b in listed["backends"] if b["name"] == "torch")
    assert "peephole" in torch_backend["cells"]
    plugins = {p["name"]: p for p in json.loads(venv.bench("plugins", "--json").stdout)}
    assert plugins["peephole"]["distribution"] == "bench-peephole"
    assert plugins["peephole"]["registered"] == ["cell torch:peephole"]
    assert plugins["peephole"]["errors"] == []

    checked = venv.bench("check", "--cells", "peephole")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "torch:peephole" in checked.stdout and "failed" not in checked.stdout

    out = tmp_path / "results"
    ran = venv.bench("run", "--task", "adding", "--cells", "peephole", "--length", "6",
                     "--steps", "3", *TINY_RUN, "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    (record,) = [json.loads(path.read_text()) for path in out.glob("*.json")]
    assert (record["status"], record["spec"]["cell"]) == ("ok", "torch:peephole")
    assert record["environment"]["plugin"] == "peephole"

    own_tests = venv.run(str(venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                         cwd=EXAMPLE)
    assert own_tests.returncode == 0, own_tests.stdout
    assert " passed" in own_tests.stdout and "failed" not in own_tests.stdout


@pytest.mark.skipif(importlib.util.find_spec("keras") is None,
                    reason="the Keras example needs Keras")
def test_the_installed_keras_plugin_passes_the_kit_with_its_own_reference(venv):
    venv.pip_install(str(KERAS_EXAMPLE))
    plugins = "tasks,keras,leakyln"

    listed = json.loads(venv.bench("plugins", "--json", plugins=plugins).stdout)
    (leaky,) = [p for p in listed if p["name"] == "leakyln"]
    assert (leaky["distribution"], leaky["registered"], leaky["errors"]) == (
        "bench-leaky-ln", ["cell keras:leakyln"], [])
    checked = venv.bench("check", "--cells", "leakyln", "--json", plugins=plugins)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    results = {r["check"]: r for r in json.loads(checked.stdout)["results"]
               if r["subject"] == "keras:leakyln"}
    assert all(r["outcome"] == "passed" for r in results.values()), results
    assert "bench_leaky_ln.reference.leaky_ln" in results["reference"]["message"]


BREAKAGES = {
    "wrong gradient": ("cell.py", "torch.sigmoid(z_o + p_o * c)",
                       "torch.sigmoid(z_o + p_o * c.detach())"),
    "hook raises": ("plugin.py", "    register(\n        Cell(",
                    "    raise RuntimeError('peephole registration is broken')\n"
                    "    register(\n        Cell("),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_copy_is_caught_by_the_kit_or_isolated_by_the_loader(venv, tmp_path,
                                                                       breakage):
    copy = tmp_path / "bench_peephole"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                 "__pycache__"))
    module, good, bad = BREAKAGES[breakage]
    source = copy / "bench_peephole" / module
    assert good in source.read_text()
    source.write_text(source.read_text().replace(good, bad, 1))
    venv.pip_install(str(copy))

    checked = venv.bench("check", "--cells", "peephole")
    if breakage == "wrong gradient":
        assert checked.returncode == 1
        assert "FAILED torch:peephole gradients: gradients disagree" in checked.stdout
        assert "fix: compute the forward pass only with differentiable" in checked.stdout
        return
    assert checked.returncode == 2
    assert "unknown cell 'peephole'" in checked.stderr
    assert ("plugin 'peephole' is broken and was skipped: bench_register_cells raised "
            "RuntimeError: peephole registration is broken") in checked.stderr
    plugins = {p["name"]: p for p in json.loads(venv.bench("plugins", "--json").stdout)}
    assert plugins["peephole"]["errors"] == [
        "bench_register_cells raised RuntimeError: peephole registration is broken"]
    listed = venv.bench("list", "--json")
    assert listed.returncode == 0
    cells = next(b for b in json.loads(listed.stdout)["backends"] if b["name"] == "torch")
    assert "lstm" in cells["cells"] and "peephole" not in cells["cells"]
