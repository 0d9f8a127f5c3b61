"""The whole training step of a step-loop cell captured in one CUDA graph (docs/architecture.md §8).

A Python step loop launches some fifteen small kernels per time step, and on a GPU the
launches, not the arithmetic, set its speed. Captured once and replayed, the forward pass,
the loss, the backward pass, the clipping, the non-finite guard and the optimiser update
run as one graph launch with no Python in between.

The captured step cannot branch on the host, so the guard is computed on the device: the
parameters and the optimiser's state are copied aside before the update and copied back
where the loss or the gradient norm was not finite, which skips the update exactly as the
eager step does. Dropout masks inside the graph come from torch's default CUDA generator,
which graph capture supports: every replay draws fresh masks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from harness.trainer import StepResult

WARMUP_STEPS = 3
"""Eager steps on a side stream before capture, as torch's CUDA-graph notes advise: they
create the optimiser's state and the libraries' workspaces outside the graph."""

ForwardBackward = Callable[[Tensor, Tensor], Tensor]
"""(inputs, targets) -> [loss, global gradient norm before clipping], grads clipped."""


class GuardedUpdate:
    """An optimiser step that leaves parameters and optimiser state as they were when a
    device-side flag says the step is not finite; no host sync, so it can be captured.

    Build it after the optimiser's first step, when its state exists."""

    def __init__(self, optimizer: torch.optim.Optimizer, parameters: list[Tensor]):
        self.optimizer = optimizer
        state = [t for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t)]
        self.tensors = [*parameters, *state]
        self.backup = [t.clone() for t in self.tensors]

    @torch.no_grad()
    def __call__(self, finite: Tensor) -> None:
        for saved, tensor in zip(self.backup, self.tensors, strict=True):
            saved.copy_(tensor)
        self.optimizer.step()
        for tensor, saved in zip(self.tensors, self.backup, strict=True):
            tensor.copy_(torch.where(finite, tensor, saved))


def sync_free_step(forward_backward: ForwardBackward, update: GuardedUpdate,
                   inputs: Tensor, targets: Tensor) -> Tensor:
    """The captured step: returns [loss, gradient norm]; updates only where both are finite."""
    stats = forward_backward(inputs, targets)
    update(stats.isfinite().all())
    return stats


class GraphedStep:
    """Trains by replaying the captured step, after :data:`WARMUP_STEPS` eager ones.

    Anything that fails while setting the graph up (no CUDA, an op that syncs with the
    host, a capture error) leaves the reason in :attr:`fallback`, and every later step runs
    eagerly. A batch whose shape differs from the captured one runs eagerly too.
    """

    def __init__(self, forward_backward: ForwardBackward,
                 eager_step: Callable[[Tensor, Tensor], StepResult],
                 optimizer: torch.optim.Optimizer, parameters: list[Tensor],
                 device: torch.device):
        self._forward_backward = forward_backward
        self._eager_step = eager_step
        self._optimizer = optimizer
        self._parameters = parameters
        self.fallback: str | None = None
        self._warm_steps = 0
        self._graph: torch.cuda.CUDAGraph | None = None
        self._inputs = self._targets = self._stats = torch.empty(0)
        self._device = device
        try:
            self._side = torch.cuda.Stream(device)
        except Exception as exc:  # no usable CUDA here: train eagerly, say why
            self._fall_back(exc)

    @property
    def captured(self) -> bool:
        return self._graph is not None

    def __call__(self, inputs: Tensor, targets: Tensor) -> StepResult:
        if self.fallback is not None:
            return self._eager_step(inputs, targets)
        if self._graph is None:
            if self._warm_steps < WARMUP_STEPS:
                return self._warm_up(inputs, targets)
            try:
                self._capture(inputs, targets)
            except Exception as exc:  # a step that cannot be captured still trains, eagerly
                self._fall_back(exc)
                return self._eager_step(inputs, targets)
        if inputs.shape != self._inputs.shape or targets.shape != self._targets.shape:
            return self._eager_step(inputs, targets)
        self._inputs.copy_(inputs)
        self._targets.copy_(targets)
        self._graph.replay()
        loss, norm = self._stats.tolist()  # the one host sync of a step
        return StepResult(loss, norm, math.isfinite(loss) and math.isfinite(norm))

    def _warm_up(self, inputs: Tensor, targets: Tensor) -> StepResult:
        main = torch.cuda.current_stream(self._device)
        self._side.wait_stream(main)
        with torch.cuda.stream(self._side):
            result = self._eager_step(inputs, targets)
        main.wait_stream(self._side)
        self._warm_steps += 1
        return result

    def _capture(self, inputs: Tensor, targets: Tensor) -> None:
        """Record the step on static buffers that hold this batch; nothing runs yet."""
        static_inputs, static_targets = inputs.clone(), targets.clone()
        update = GuardedUpdate(self._optimizer, self._parameters)
        # No gradients before capture: backward then allocates them in the graph's pool.
        self._optimizer.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.stream(self._side):  # restores the current stream if capture fails
            with torch.cuda.graph(graph, stream=self._side):
                stats = sync_free_step(self._forward_backward, update, static_inputs,
                                       static_targets)
        self._graph, self._stats = graph, stats
        self._inputs, self._targets = static_inputs, static_targets

    def _fall_back(self, exc: BaseException) -> None:
        # A failed capture raises again when it ends; the first error says what went wrong.
        while exc.__context__ is not None:
            exc = exc.__context__
        message = str(exc).strip().splitlines()
        self.fallback = type(exc).__name__ + (f": {message[0]}" if message else "")
        self._graph = None
