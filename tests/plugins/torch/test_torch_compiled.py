"""The pieces of bench's compiled path (``--kernel compiled``): its activations, its matrix
product and the BLAS it calls, the batch split across threads, and the conformance kit's
hold on it. test_torch_kernels.py checks the whole path against torch's kernels."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("numba")

import numba  # noqa: E402
from numba.core.codegen import get_host_cpu_features  # noqa: E402

import harness.plugins  # noqa: E402
from bench_torch import cells as torch_cells  # noqa: E402
from bench_torch import plugin as torch_plugin  # noqa: E402
from bench_torch import threads as torch_threads  # noqa: E402
from bench_torch.compiled import (  # noqa: E402
    BENCH_COMPILED,
    activations,
    blas,
    functions,
    loops,
    parallel,
    vectors,
)
from bench_torch.compiled.parallel import PARALLEL, each_part  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.conformance import run_checks  # noqa: E402
from harness.errors import UsageError  # noqa: E402
from harness.runner import plan  # noqa: E402
from harness.spec import RunSpec  # noqa: E402
from tests.helpers import make_host  # noqa: E402
from tests.plugins.torch.test_torch_kernels import assert_agree, build, forward_backward  # noqa: E402,E501


@numba.njit(**{**activations.FAST, "cache": False})
def _apply(x, tanh_out, sigmoid_out):
    for i in range(x.shape[0]):
        tanh_out[i] = activations.tanh(x[i])
        sigmoid_out[i] = activations.sigmoid(x[i])


def test_the_activations_match_numpy_over_the_float32_range():
    x = np.concatenate([np.linspace(-30, 30, 600_001, dtype=np.float32),
                        np.array([0.0, 1e-30, -1e-30, 3.4e38, -3.4e38], np.float32)])
    tanh, sigmoid = np.empty_like(x), np.empty_like(x)
    _apply(x, tanh, sigmoid)
    exact = x.astype(np.float64)
    np.testing.assert_allclose(tanh, np.tanh(exact), rtol=0, atol=5e-7)
    np.testing.assert_allclose(sigmoid, 0.5 * np.tanh(exact / 2) + 0.5, rtol=0, atol=5e-7)
    # bounded as the functions are, so that the derivatives 1 - tanh^2, s(1 - s) stay >= 0
    assert np.abs(tanh).max() <= 1 and 0 <= sigmoid.min() and sigmoid.max() <= 1
    # and saturated as float32 tanh is (1 beyond 9.02): a derivative of exactly 0 there
    saturated = np.abs(x) >= 9.02
    assert (1 - tanh[saturated] ** 2 == 0).all()
    assert (sigmoid[x >= 18.04] == 1).all() and (sigmoid[x <= -18.04] == 0).all()


AVX512 = "+avx512f" in get_host_cpu_features().split(",")


@pytest.mark.skipif(not AVX512, reason="the CPU has no AVX-512")
def test_on_a_cpu_with_avx512_the_loops_compile_to_512_bit_vectors():
    _apply(np.zeros(64, np.float32), *(np.empty(64, np.float32) for _ in range(2)))
    assembly = "".join(_apply.inspect_asm().values())
    assert "zmm" in assembly


@pytest.mark.parametrize("host, user, wide", [
    ("+sse2,+avx2,+avx512f", None, True),
    ("+sse2,+avx2,-avx512f", None, False),  # LLVM lists the features a CPU lacks with '-'
    ("+sse2,+avx2,+avx512f", "+sse2", False),
])
def test_wide_vectors_are_asked_for_only_on_avx512_and_never_over_the_users_features(
        monkeypatch, host, user, wide):
    monkeypatch.setattr(numba.core.config, "CPU_FEATURES", user)
    monkeypatch.setattr(vectors, "get_host_cpu_features", lambda: host)
    vectors.prefer_wide_vectors()
    assert numba.core.config.CPU_FEATURES == (f"{host},{vectors.WIDE}" if wide else user)


@pytest.mark.parametrize("accumulate", [False, True])
def test_gemm_multiplies_rows_at_any_stride(accumulate):
    rng = np.random.default_rng(0)
    whole = rng.normal(size=(3, 5, 7)).astype(np.float32)
    a = whole[:, 1]  # rows 35 floats apart
    b = rng.normal(size=(7, 4)).astype(np.float32)
    out_whole = rng.normal(size=(3, 2, 4)).astype(np.float32)
    out = out_whole[:, 0]
    expected = a @ b + (out if accumulate else 0)
    blas.gemm(a, b, out, accumulate, np.empty(blas.SCRATCH, np.float32))
    np.testing.assert_allclose(out_whole[:, 0], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rows", [1, 3])
def test_gemm_takes_a_one_row_operand_at_any_stride(rows):
    """torch calls a [1, n] tensor contiguous at any stride (the transposed weight of a cell
    with one unit has stride 1), which BLAS refuses as a leading dimension: MKL only prints
    an error, and the product was skipped."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(rows, 1)).astype(np.float32)
    b = np.lib.stride_tricks.as_strided(rng.normal(size=5).astype(np.float32), (1, 5), (4, 4))
    out = np.zeros((rows, 5), np.float32)
    blas.gemm(a, b, out, False, np.empty(blas.SCRATCH, np.float32))
    np.testing.assert_allclose(out, a @ b, rtol=1e-6)
    empty = np.empty((0, 5), np.float32)  # an empty product is no call at all
    blas.gemm(np.empty((0, 1), np.float32), b, empty, False, np.empty(blas.SCRATCH, np.float32))


def test_the_loops_name_the_callees_they_are_compiled_with():
    sources = b"".join(Path(module.__file__).read_bytes().replace(b"\r\n", b"\n")
                       for module in (activations, blas))  # as git checks them out anywhere
    digest = hashlib.sha256(sources).hexdigest()
    assert loops.CALLEES_DIGEST == digest, (
        f"activations.py or blas.py changed: set loops.CALLEES_DIGEST to {digest!r}, so "
        "that numba's cache of the loops, keyed on loops.py alone, is compiled afresh")


def test_the_product_is_torchs_own_blas_here():
    assert blas.BLAS_SOURCE == ("torch" if torch.backends.mkl.is_available() else "scipy")


FALLBACK = """
import ctypes
real = ctypes.CDLL
def no_torch_blas(name, *args, **kwargs):
    if "libtorch_cpu" in str(name):
        raise OSError("hidden for the test")
    return real(name, *args, **kwargs)
ctypes.CDLL = no_torch_blas
from bench_torch.compiled import blas
ctypes.CDLL = real
import numpy as np, torch
from bench_torch.compiled.functions import LSTM_GATE_ORDER, LSTMRecurrence
from bench_torch.kernels import LSTM_GATE_ORDER as TORCH_OPS_ORDER
from bench_torch.kernels import LSTMRecurrence as TorchOps
rng = torch.Generator().manual_seed(0)
x = torch.randn(4, 7, 3, generator=rng)
weights = [torch.randn(*shape, generator=rng) * 0.3 for shape in ((20, 3), (20,), (20, 5))]
rows = torch.cat([torch.arange(5) + 5 * LSTM_GATE_ORDER.index(g) for g in TORCH_OPS_ORDER])
got = LSTMRecurrence.apply(x, *weights, None)
expected = TorchOps.apply(x, *(w[rows] for w in weights), None)
print(blas.BLAS_SOURCE, float(max((g - e).abs().max() for g, e in zip(got, expected))))
"""


def test_without_torchs_blas_the_path_uses_scipys():
    done = subprocess.run([sys.executable, "-c", FALLBACK], capture_output=True, text=True,
                          check=True)
    source, difference = done.stdout.split()
    assert source == "scipy"
    assert float(difference) < 1e-5


@pytest.mark.skipif(not PARALLEL, reason="torch has no OpenMP runtime here")
@pytest.mark.parametrize("name", sorted(torch_cells.CELLS))
def test_a_batch_split_across_threads_computes_what_one_thread_does(name, canonical_weights):
    weights = canonical_weights(name, 3, 9)
    x = np.random.default_rng(3).normal(size=(6, 70, 3)).astype(np.float32)  # 2 chunks
    options = {"recurrent_dropout": 0.3}
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert functions._Parts(6, 9 * 9).count == 2
        split = forward_backward(build(name, weights, 3, "compiled", **options), x, seed=1)
        torch.set_num_threads(1)
        assert functions._Parts(6, 9 * 9).count == 1
        whole = forward_backward(build(name, weights, 3, "compiled", **options), x, seed=1)
    finally:
        torch.set_num_threads(threads)
    assert_agree(split, whole)


@pytest.mark.skipif(not PARALLEL or (os.cpu_count() or 1) < 2, reason="one CPU here")
def test_the_batch_parts_follow_benchs_independent_threads_beside_torchs_count(monkeypatch):
    """bench's policy may give the parts of a large enough step more threads than torch's
    own operations (busy CPUs); torch's count set by anyone else afterwards decides again."""
    monkeypatch.setattr(torch_threads, "_independent", None)
    large = -(-functions.INDEPENDENT_WORK // 3)  # for a part of 3 rows
    threads = torch.get_num_threads()
    try:
        torch_threads.set_threads(1)
        torch_threads.set_independent_threads(2)
        assert functions._Parts(6, large).count == 2
        assert functions._Parts(6, large - 1).count == 1  # torch's
        functions.RNNRecurrence.apply(torch.randn(128, 5, 3), torch.randn(128, 3),
                                      torch.zeros(128), torch.randn(128, 128), None)
        assert torch.get_num_threads() == 1
        torch_threads.set_threads(2)
        torch_threads.set_independent_threads(1)
        assert functions._Parts(6, large).count == 1
        torch.set_num_threads(3)
        assert functions._Parts(6, large).count == min(3, os.cpu_count())  # torch's 3
    finally:
        torch.set_num_threads(threads)


@pytest.mark.skipif(not PARALLEL, reason="torch has no OpenMP runtime here")
def test_each_part_runs_on_a_thread_of_its_own_and_a_failed_part_raises():
    threads: dict[int, int] = {}

    def record(part: int) -> None:
        threads[part] = threading.get_ident()

    each_part(record, [(0,), (1,)])
    assert sorted(threads) == [0, 1] and threads[0] != threads[1]

    def fail(part: int) -> None:
        if part == 1:
            raise ValueError("part 1 failed")

    with pytest.raises(ValueError, match="^part 1 failed$"):
        each_part(fail, [(0,), (1,)])


def test_without_an_openmp_runtime_each_part_runs_in_turn(monkeypatch):
    monkeypatch.setattr(parallel, "_OPENMP", None)
    threads = []
    each_part(lambda part: threads.append((part, threading.get_ident())), [(0,), (1,)])
    assert threads == [(0, threading.get_ident()), (1, threading.get_ident())]


SAME_NUMBERS = """
import torch
torch.set_num_threads(2)
from bench_torch.compiled import functions
rng = torch.Generator().manual_seed(0)
x = torch.randn(8, 70, 3, generator=rng)  # two parts, two chunks
for name, width, extra in (("RNN", 1, ()), ("LNRNN", 1, ((16,), (16,))), ("LSTM", 4, ()),
                           ("GRU", 3, ((48,),))):
    shapes = ((16 * width, 3), (16 * width,), (16 * width, 16), *extra)
    weights = [(torch.randn(*shape, generator=rng) * 0.3).requires_grad_() for shape in shapes]
    out = getattr(functions, name + "Recurrence").apply(x, *weights, None)
    out = out[0] if isinstance(out, tuple) else out
    out.pow(2).sum().backward()
    print(name, *(repr(t.double().sum().item()) for t in (out, *(w.grad for w in weights))))
"""


def test_a_process_that_compiles_the_loops_computes_what_one_that_loads_them_does(tmp_path):
    """The numbers of a run must not depend on whether numba's cache was warm: numba's
    parallel functions, used before, ran other code than they cached (lnrnn differed), and
    so did a compiled loop calling another (the LSTM's, GRU's and lnrnn's gradients), which
    :mod:`.loops` therefore composes in Python."""
    def numbers() -> str:
        return subprocess.run([sys.executable, "-c", SAME_NUMBERS], capture_output=True,
                              text=True, check=True,
                              env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}).stdout

    compiled = numbers()
    assert list(tmp_path.rglob("*.nbc")), "the first process compiled nothing into the cache"
    assert numbers() == compiled


def test_the_kit_checks_the_compiled_path(monkeypatch):
    """A compiled LSTM that is off by a little fails the kit's checks on that path alone,
    the reference check among them."""
    class Shifted(functions.LSTMRecurrence):
        @staticmethod
        def forward(ctx, *args):
            outputs, cell = functions.LSTMRecurrence.forward(ctx, *args)
            return outputs.add_(1e-3), cell

    monkeypatch.setitem(torch_cells.RECURRENCES, BENCH_COMPILED,
                        types.SimpleNamespace(LSTMRecurrence=Shifted,
                                              LSTM_GATE_ORDER=functions.LSTM_GATE_ORDER))
    results = run_checks(make_host("tasks", "torch").registry, cells=["torch:lstm"])
    failed = {(r.subject, r.check) for r in results if r.failed}
    assert ("torch:lstm/compiled", "reference") in failed
    assert {subject for subject, _ in failed} == {"torch:lstm/compiled"}


@pytest.mark.skipif(not PARALLEL, reason="torch has no OpenMP runtime here")
def test_the_backward_pass_keeps_the_forward_passs_split(canonical_weights):
    """A thread count changed between the passes (bench's runner may set it per run) does
    not change the split the backward pass reads the forward pass's buffers with."""
    weights = canonical_weights("lstm", 3, 5)
    x = torch.tensor(np.random.default_rng(4).normal(size=(4, 9, 3)).astype(np.float32))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        expected = build("lstm", weights, 3, "compiled")(x)[0].detach()
        cell = build("lstm", weights, 3, "compiled")
        torch.set_num_threads(2)
        outputs, _ = cell(x)
        torch.set_num_threads(1)
        outputs.sum().backward()
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(outputs, expected)
    reference = build("lstm", weights, 3, "framework")
    reference(x)[0].sum().backward()
    for (name, (param, _)), (_, (expected_param, _)) in zip(
            cell.canonical_parameters().items(), reference.canonical_parameters().items(),
            strict=True):
        torch.testing.assert_close(param.grad, expected_param.grad, rtol=1e-4, atol=1e-5,
                                   msg=name)


KEEPS_THREADS = """
import torch
torch.set_num_threads(1)
from bench_torch.compiled.functions import RNNRecurrence
x, weight = torch.randn(4, 5, 3), torch.randn(8, 3)
bias, recurrent = torch.zeros(8), torch.randn(8, 8)
RNNRecurrence.apply(x, weight, bias, recurrent, None)
one = torch.get_num_threads()
torch.set_num_threads(2)
RNNRecurrence.apply(x, weight, bias, recurrent, None)
print(one, torch.get_num_threads())
"""


@pytest.mark.parametrize("name", sorted(torch_cells.CELLS))
def test_a_cell_in_float64_is_refused_by_the_compiled_path_not_miscomputed(name,
                                                                            canonical_weights):
    """The loops' products are sgemm: fed float64 they read its bytes as float32 (outputs
    off by up to 1.6 before this check). bench's other path computes the same in float64."""
    weights = canonical_weights(name, 3, 5)
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    framework = build(name, weights, 3, "framework").double()
    with pytest.raises(TypeError, match="bench-compiled kernel path computes in float32, "
                                        "not float64: .* choose kernel 'bench'"):
        build(name, weights, 3, "compiled").double()(x)
    torch.testing.assert_close(build(name, weights, 3, "bench").double()(x)[0],
                               framework(x)[0])


@pytest.mark.parametrize("name", sorted(torch_cells.CELLS))
def test_under_cpu_autocast_the_compiled_path_computes_in_float32(name, canonical_weights):
    """Autocast's bfloat16 is a request for speed where an operation has it; the loops have
    float32 only, so they run in float32 there too (autocast's projection was refused)."""
    cell = build(name, canonical_weights(name, 3, 5), 3, "compiled")
    x = torch.randn(2, 7, 3, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outputs = cell(x)[0]
    outputs.sum().backward()
    assert outputs.dtype == torch.float32 and x.grad.dtype == torch.float32
    torch.testing.assert_close(outputs, cell(x)[0])


def test_the_compiled_path_keeps_the_thread_count_bench_set():
    """A process bench gave one thread keeps one after a compiled run (numba's OpenMP layer,
    which ran the parts before, set the count torch reads: two such processes then ran on two
    threads each, 40x slower)."""
    done = subprocess.run([sys.executable, "-c", KEEPS_THREADS], capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == ["1", "2"]


def test_without_numba_auto_keeps_the_frameworks_kernels_and_compiled_says_why(monkeypatch):
    without = {k: v for k, v in torch_cells.RECURRENCES.items() if k != BENCH_COMPILED}
    monkeypatch.setattr(torch_cells, "RECURRENCES", without)
    cell = torch_cells.CELLS["lstm"](2, 4, {})
    torch_cells.use_kernel(cell, "auto", "cpu")
    assert cell.kernel_path == "fused:nn.LSTM"
    with pytest.raises(UsageError, match="^kernel 'compiled' needs numba, which is not "
                                         "installed .*; valid: auto, framework, bench$"):
        torch_cells.use_kernel(cell, "compiled", "cpu")



def test_without_numba_the_compiled_kernel_is_refused_in_one_line(monkeypatch, tmp_path,
                                                                  capsys):
    """Where numba is not installed the backend registers no compiled path, so the run is
    refused before anything trains: one line, exit 2, nothing written."""
    monkeypatch.setattr(torch_plugin, "KERNELS", ("framework", "bench"))
    monkeypatch.setattr(harness.plugins, "_default_host", make_host("tasks", "torch"))
    code = main(["run", "--task", "copy", "--cells", "torch:lstm", "--length", "3", "--steps",
                 "4", "--kernel", "compiled", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "cell 'torch:lstm' has no kernel 'compiled' (valid: auto, framework, bench)" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.fixture
def gpu_host(monkeypatch):
    """The torch backend as a GPU machine lists it: nothing here builds on the GPU."""
    host = make_host("tasks", "torch")
    monkeypatch.setattr(host.registry.backend("torch"), "list_devices", lambda: ["cuda", "cpu"])
    monkeypatch.setattr(harness.plugins, "_default_host", host)
    return host


def test_on_a_gpu_the_compiled_kernel_is_refused_before_a_run_in_one_line(gpu_host, tmp_path,
                                                                          capsys):
    code = main(["run", "--task", "copy", "--cells", "torch:lstm", "--length", "3", "--steps",
                 "4", "--kernel", "compiled", "--device", "cuda", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert ("kernel 'compiled' of cell 'torch:lstm' runs on cpu only, not on 'cuda' (valid "
            "there: auto, framework, bench)") in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_device_auto_takes_the_first_device_the_kernel_runs_on(gpu_host):
    def device(kernel: str) -> str:
        spec = RunSpec(task="copy", cell="torch:lstm", task_params={"length": 3},
                       kernel=kernel, device="auto")
        return plan(spec, gpu_host.registry).device

    assert (device("compiled"), device("bench"), device("auto")) == ("cpu", "cuda", "cuda")
