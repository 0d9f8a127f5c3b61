"""Where the compiled LSTM's time loops spend their time: the loops against their recurrent
products alone (issue 13: why the step is not within 1.3x of its matrix-multiply floor).

    python -m tests.benchmarks.loop_split [--rounds 15] [--threads 1]

At the standard size's shapes (copy T=100 is 120 steps, batch 128, 128 units), one part on
the calling thread, each timed alternately in one process after a warm-up: the forward loop
(``loops._lstm_forward``, which projects its inputs 64 steps at a time) and the same steps'
products alone (those projections and one recurrent ``gemm`` a step), then the backward
loop and its products alone. What a loop takes beyond its products
is its per-step elementwise work (the gate pass, the cell update and their derivatives),
which the matrix-multiply floor does not count.
"""

from __future__ import annotations

import argparse

import numba
import numpy as np
import torch

from bench_torch.compiled import loops
from bench_torch.compiled.activations import FAST
from bench_torch.compiled.blas import SCRATCH, gemm
from bench_torch.kernels import CHUNK
from tests.benchmarks.conftest import interleaved_medians

STEPS, BATCH, HIDDEN, INPUT = 120, 128, 128, 10


@numba.njit(**{**FAST, "cache": False})  # its callees' changes would not reach a cache
def _forward_products(x, weight_t, x_steps, gates, recurrent_t, states, scratch):
    rows = gates.shape[1]
    for t in range(gates.shape[0]):
        if t % x_steps.shape[0] == 0:
            loops._project(x, t, weight_t, x_steps, loops._flat(gates)[t * rows:], scratch)
        if t:
            gemm(states[t - 1], recurrent_t, gates[t], True, scratch)


@numba.njit(**{**FAST, "cache": False})  # its callees' changes would not reach a cache
def _backward_products(gates, recurrent, dh, scratch):
    for t in range(gates.shape[0] - 1, 0, -1):
        gemm(gates[t], recurrent, dh, False, scratch)


class LSTMLoops:
    """The arrays of one forward and backward pass at the standard size, and each timed
    piece as a callable."""

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)

        def normal(*shape: int) -> np.ndarray:
            return (rng.normal(size=shape) * 0.1).astype(np.float32)

        width = 4 * HIDDEN
        self.x, self.weight_t = normal(BATCH, STEPS, INPUT), normal(INPUT, width)
        self.x_steps = np.empty((min(CHUNK, STEPS), BATCH, INPUT), np.float32)
        self.gates = np.empty((STEPS, BATCH, width), np.float32)
        self.bias, self.recurrent = normal(width), normal(width, HIDDEN)
        self.recurrent_t = np.ascontiguousarray(self.recurrent.T)
        self.mask = np.ones((BATCH, HIDDEN), np.float32)
        self.cells, self.tanh_c = (np.empty((STEPS, BATCH, HIDDEN), np.float32)
                                   for _ in range(2))
        self.out = np.empty((BATCH, STEPS, HIDDEN), np.float32)
        self.states = normal(STEPS, BATCH, HIDDEN)
        self.d_outputs = normal(BATCH, STEPS, HIDDEN)
        self.held = np.empty((BATCH, HIDDEN), np.float32)
        self.dc, self.dh = (np.zeros((BATCH, HIDDEN), np.float32) for _ in range(2))
        self.scratch = np.empty(SCRATCH, np.float32)

    def forward_loop(self) -> None:
        loops._lstm_forward(self.x, self.weight_t, self.gates, self.bias, self.recurrent_t,
                            self.mask, self.cells, self.tanh_c, self.out, self.x_steps,
                            self.held, self.scratch)

    def forward_products(self) -> None:
        _forward_products(self.x, self.weight_t, self.x_steps, self.gates, self.recurrent_t,
                          self.states, self.scratch)

    def backward_loop(self) -> None:
        """After :meth:`forward_loop`, whose activated gates it turns into their gradient:
        the forward loop is timed separately and subtracted."""
        self.forward_loop()
        self.dc[:] = 0.0
        self.dh[:] = 0.0
        loops._lstm_backward(self.gates, 0, STEPS, self.recurrent, self.mask, self.cells,
                             self.tanh_c, self.d_outputs, self.dc, self.dh, self.scratch)

    def backward_products(self) -> None:
        _backward_products(self.gates, self.recurrent, self.dh, self.scratch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # the count torch's MKL, which gemm calls, reads
    pieces = LSTMLoops()
    ms = {name: seconds * 1e3 for name, seconds in interleaved_medians(
        {"forward loop": pieces.forward_loop, "forward products": pieces.forward_products,
         "forward+backward loops": pieces.backward_loop,
         "backward products": pieces.backward_products}, rounds=args.rounds).items()}
    backward = ms["forward+backward loops"] - ms["forward loop"]
    print(f"LSTM, {STEPS} steps, batch {BATCH}, {HIDDEN} units, {args.threads} BLAS thread(s),"
          f" medians of {args.rounds} alternated rounds (ms; each forward includes its input"
          " projection)")
    for name, loop, products in (("forward", ms["forward loop"], ms["forward products"]),
                                 ("backward", backward, ms["backward products"])):
        print(f"{name}: loop {loop:.2f}, products alone {products:.2f}, elementwise "
              f"{loop - products:.2f} ({(loop - products) / loop:.0%} of the loop)")


if __name__ == "__main__":
    main()
