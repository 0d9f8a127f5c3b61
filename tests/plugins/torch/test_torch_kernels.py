"""bench's own recurrences (kernel paths ``bench-fused`` and ``bench-compiled``) against
torch's kernels, the step loop and the numpy reference equations; choosing a path with
``--kernel``."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench_torch.cells import CELLS, use_kernel  # noqa: E402
from bench_torch.compiled import BENCH_COMPILED  # noqa: E402
from bench_torch.kernels import BENCH_FUSED  # noqa: E402
from bench_torch.trainer import build_trainer  # noqa: E402
from harness.catalogue import STANDARD_CELLS  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.errors import UsageError  # noqa: E402
from tests.plugins.torch.configs import make_config, recall_first  # noqa: E402

FRAMEWORK = {"rnn": "fused:nn.RNN", "lnrnn": "loop", "lstm": "fused:nn.LSTM",
             "gru": "fused:nn.GRU"}
BENCH_PATHS = {"bench": BENCH_FUSED, "compiled": BENCH_COMPILED}
"""bench's own kernel choices and the path each runs."""
SHAPES = {  # batch, time, input, hidden
    "batch1-t1": (1, 1, 3, 5),
    "hidden13": (4, 9, 3, 13),
    "hidden1": (2, 5, 3, 1),
    "t1000": (2, 1000, 2, 6),
}


def build(name: str, weights, input_size: int, kernel: str, **options):
    cell = CELLS[name](input_size, weights["U"].shape[0], options)
    use_kernel(cell, kernel, "cpu")
    cell.load_canonical(weights)
    return cell


def forward_backward(cell, x: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Outputs, final state and the gradients of inputs and every canonical weight for the
    loss sum(outputs * cotangent) + sum of the final state(s) times 2, 3."""
    inputs = torch.tensor(x, requires_grad=True)
    torch.manual_seed(seed)  # the same dropout masks on every path
    outputs, state = cell(inputs)
    states = state if isinstance(state, tuple) else (state,)
    cotangent = torch.from_numpy(np.random.default_rng(7).normal(size=outputs.shape)
                                 .astype(np.float32))
    loss = (outputs * cotangent).sum() + sum((s * k).sum() for k, s in enumerate(states, 2))
    loss.backward()
    found = {"outputs": outputs, "d inputs": inputs.grad,
             **{f"state {k}": s for k, s in enumerate(states)}}
    found.update({f"d {name}": param.grad.t() if transposed else param.grad
                  for name, (param, transposed) in cell.canonical_parameters().items()})
    return {key: value.detach().numpy() for key, value in found.items()}


def assert_agree(got: dict, expected: dict, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        scale = float(np.abs(value).max()) or 1.0
        np.testing.assert_allclose(got[key], value, rtol=rtol, atol=atol * scale, err_msg=key)


@pytest.mark.parametrize("kernel", BENCH_PATHS)
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", sorted(CELLS))
def test_bench_path_agrees_with_the_framework_kernels(name, shape, kernel, canonical_weights):
    batch, time, input_size, hidden = shape
    if name == "lnrnn" and hidden == 1:
        pytest.skip("a layer norm over one unit outputs its offset whatever its input: every "
                    "other gradient is 0, and each path's is its own rounding noise")
    weights = canonical_weights(name, input_size, hidden)
    x = np.random.default_rng(1).normal(size=(batch, time, input_size)).astype(np.float32)
    framework = build(name, weights, input_size, "framework")
    bench = build(name, weights, input_size, kernel)
    assert (framework.kernel_path, bench.kernel_path) == (FRAMEWORK[name], BENCH_PATHS[kernel])

    got = forward_backward(bench, x)

    assert_agree(got, forward_backward(framework, x))
    reference = {key: value.astype(np.float64) for key, value in weights.items()}
    outputs, state = STANDARD_CELLS[name].reference(x.astype(np.float64), reference)
    np.testing.assert_allclose(got["outputs"], outputs, atol=2e-5)
    np.testing.assert_allclose(got["state 0"], outputs[:, -1], atol=2e-5)
    if isinstance(state, tuple):  # the LSTM's c
        np.testing.assert_allclose(got["state 1"], state[1], atol=2e-5)


@pytest.mark.parametrize("shape", [(0, 5, 3), (2, 0, 3)], ids=["no-sequence", "no-step"])
@pytest.mark.parametrize("kernel", BENCH_PATHS)
@pytest.mark.parametrize("name", sorted(CELLS))
def test_an_empty_batch_is_refused_in_one_clear_error(name, kernel, shape, canonical_weights):
    cell = build(name, canonical_weights(name, 3, 4), 3, kernel)
    with pytest.raises(ValueError, match=rf"kernel path {BENCH_PATHS[kernel]} needs at least "
                                         rf"one sequence of at least one step, not inputs of "
                                         rf"shape \[{', '.join(map(str, shape))}\]"):
        cell(torch.zeros(shape))


@pytest.mark.parametrize("batch", [2, 3])
@pytest.mark.parametrize("kernel", ["framework", *BENCH_PATHS])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_the_final_state_is_a_tensor_of_its_own(name, kernel, batch, canonical_weights):
    """As torch's fused modules return it: changing it in place leaves the outputs as they
    were and their backward pass working (the compiled path splits an even batch in two
    parts). A step loop's state is its last tanh's output, which that tanh's backward pass
    needs: torch refuses to go back through it once changed, as for any module."""
    cell = build(name, canonical_weights(name, 3, 4), 3, kernel)
    outputs, state = cell(torch.randn(batch, 5, 3))
    states = state if isinstance(state, tuple) else (state,)
    before = outputs.detach().clone()
    with torch.no_grad():
        for tensor in states:
            tensor.add_(10.0)
    torch.testing.assert_close(outputs.detach(), before, rtol=0, atol=0)
    if cell.kernel_path != "loop":
        (outputs.sum() + sum(tensor.sum() for tensor in states)).backward()


@pytest.mark.parametrize("time", [9, 150], ids=["one-chunk", "three-chunks"])
@pytest.mark.parametrize("kernel", BENCH_PATHS)
@pytest.mark.parametrize("name", sorted(CELLS))
def test_a_second_backward_pass_through_the_graph_gives_the_same_gradients(
        name, kernel, time, canonical_weights):
    """What a forward pass keeps for its backward pass and the backward pass overwrites (the
    compiled lnrnn's last chunk of layer-norm inputs) is not reused by a second one."""
    weights = canonical_weights(name, 3, 7)
    cell = build(name, weights, 3, kernel)
    x = torch.tensor(np.random.default_rng(4).normal(size=(2, time, 3)).astype(np.float32))
    outputs = cell(x)[0]
    cotangent = torch.randn_like(outputs)
    trained = [parameter for parameter in cell.parameters() if parameter.requires_grad]
    first, second = (torch.autograd.grad(outputs, trained, cotangent, retain_graph=True)
                     for _ in range(2))
    for found, expected in zip(second, first, strict=True):  # to BLAS's last bits
        torch.testing.assert_close(found, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel", BENCH_PATHS)
@pytest.mark.parametrize("name", sorted(CELLS))
def test_bench_path_agrees_with_the_loop_under_dropout(name, kernel, canonical_weights):
    """The same masks (drawn from the same seed) give the same function and gradients."""
    weights = canonical_weights(name, 3, 7)
    x = np.random.default_rng(2).normal(size=(5, 12, 3)).astype(np.float32)
    options = {"dropout": 0.3, "recurrent_dropout": 0.4}
    loop = build(name, weights, 3, "framework", **options)
    bench = build(name, weights, 3, kernel, **options)
    assert (loop.kernel_path, bench.kernel_path) == ("loop", BENCH_PATHS[kernel])

    assert_agree(forward_backward(bench, x, seed=3), forward_backward(loop, x, seed=3))


@pytest.mark.parametrize("kernel", BENCH_PATHS)
@pytest.mark.parametrize("name", sorted(CELLS))
def test_training_follows_the_framework_paths_learning_curve(name, kernel):
    """100 steps from one seed: the losses stay within float tolerance of each other."""
    trainers = [build_trainer(make_config(name, kernel=choice, options={"dropout": 0.1}))
                for choice in ("framework", kernel)]
    assert trainers[1].kernel_path == BENCH_PATHS[kernel]
    curves = []
    for trainer in trainers:
        rng = np.random.default_rng(4)
        torch.manual_seed(5)
        curves.append([trainer.train_step(*recall_first(rng, batch=16)).loss
                       for _ in range(100)])

    np.testing.assert_allclose(curves[1], curves[0], rtol=1e-3, atol=1e-6)
    assert curves[0][-1] < curves[0][0] / 2  # it learned: the curves are not flat


@pytest.mark.parametrize(("kernel", "device", "paths"), [
    ("auto", "cpu", dict.fromkeys(FRAMEWORK, BENCH_COMPILED)),  # measured faster (README)
    ("auto", "cuda", FRAMEWORK),  # decided without touching a GPU
    ("framework", "cpu", FRAMEWORK),
    ("bench", "cpu", dict.fromkeys(FRAMEWORK, BENCH_FUSED)),
    ("bench", "cuda", dict.fromkeys(FRAMEWORK, BENCH_FUSED)),
    ("compiled", "cpu", dict.fromkeys(FRAMEWORK, BENCH_COMPILED)),
])
def test_the_kernel_choice_picks_the_path(kernel, device, paths):
    chosen = {}
    for name in CELLS:
        cell = CELLS[name](2, 4, {})
        use_kernel(cell, kernel, device)
        chosen[name] = cell.kernel_path
    assert chosen == paths


def test_auto_prefers_bench_over_the_lstm_step_loop():
    cell = CELLS["lstm"](2, 4, {"recurrent_dropout": 0.2})
    use_kernel(cell, "auto", "cpu")
    assert cell.kernel_path == BENCH_COMPILED


def test_the_compiled_kernel_refuses_a_gpu():
    with pytest.raises(UsageError, match="kernel 'compiled' runs on the CPU only, not on "
                                         "'cuda' \\(valid there: auto, framework, bench\\)"):
        use_kernel(CELLS["lstm"](2, 4, {}), "compiled", "cuda")


def test_a_cell_without_bench_recurrence_refuses_the_bench_kernel():
    class Changed(CELLS["lnrnn"]):
        """A subclass that changes the loop does not inherit bench's recurrence."""

        def _loop(self, x, state_mask):
            return super()._loop(x, state_mask)

    cell = Changed(2, 4, {})
    use_kernel(cell, "auto", "cpu")
    assert cell.kernel_path == "loop"
    with pytest.raises(UsageError, match="has no kernel 'bench' \\(valid: auto, framework\\)"):
        use_kernel(cell, "bench", "cpu")


def test_bench_kernel_on_a_cell_without_it_is_a_usage_error(tmp_path, capsys, toy_host):
    code = main(["run", "--task", "echo", "--cells", "rnn,broken", "--kernel", "bench",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "has no kernel 'bench' (valid: auto, framework)" in err
    assert "Traceback" not in err and not list(tmp_path.iterdir())


def test_an_unknown_kernel_is_a_usage_error(tmp_path, capsys):
    code = main(["run", "--task", "adding", "--cells", "torch:lstm", "--kernel", "fastest",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "fastest" in err and "framework" in err
    assert "Traceback" not in err
