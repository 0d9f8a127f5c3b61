"""The torch :class:`harness.trainer.Trainer`: cell and linear read-out, the task's loss, an
optimiser and gradient clipping (by global norm or by value), on one device.

A training step does only what a hand-written loop must do, plus one host sync that reads
the loss and the gradient norm together (needed to skip a non-finite update).

A step-loop cell on CUDA trains through a CUDA graph of the whole step
(:mod:`bench_torch.graph`), recorded as ``kernel_path`` ``"loop+cuda-graph"``, or
``"loop (eager fallback: <reason>)"`` when the graph cannot be set up. On the CPU the loop
runs eagerly: neither TorchScript nor torch.compile made its training step faster there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import clip_grad_value_, clip_grads_with_norm_, get_total_norm

from bench_torch.cells import LOOP, use_kernel
from bench_torch.devices import resolve_device
from bench_torch.graph import GraphedStep
from bench_torch.weights import load_weights
from harness.canonical import Weights
from harness.errors import UnknownNameError, UsageError
from harness.protocol import INITS
from harness.tasks import IGNORE_TARGET, LossKind, Readout
from harness.trainer import OPTIMIZER_SETTINGS, StepResult, TrainerConfig, optimizer_settings


def make_optimizer(config: TrainerConfig, parameters: list[Tensor],
                   capturable: bool = False) -> torch.optim.Optimizer:
    """The optimiser with the settings every backend shares (harness.trainer), and the
    config's decoupled weight decay.

    ``capturable`` keeps Adam's and RMSprop's step counts on the device, as a CUDA graph
    needs; SGD without momentum has no state and is capturable as it is. On the CPU, Adam
    runs torch's fused kernel: one pass over each parameter instead of about ten operations
    (0.2 ms of the main job's 7.3 ms LSTM step at copy T=5, batch 64, one thread)."""
    settings, lr = optimizer_settings(config), config.lr
    if config.optimizer == "adam":
        on_cpu = all(p.device.type == "cpu" for p in parameters)
        optimizer = torch.optim.Adam(parameters, lr=lr, eps=settings["epsilon"],
                                     betas=(settings["beta_1"], settings["beta_2"]),
                                     capturable=capturable, fused=on_cpu or None)
    elif config.optimizer == "rmsprop":
        optimizer = torch.optim.RMSprop(parameters, lr=lr, alpha=settings["rho"],
                                        eps=settings["epsilon"], capturable=capturable)
    else:
        optimizer = torch.optim.SGD(parameters, lr=lr)
    if config.weight_decay:
        optimizer.register_step_pre_hook(_decoupled_decay(config.weight_decay))
    return optimizer


def _decoupled_decay(rate: float):
    """A step pre-hook that multiplies every parameter by ``1 - lr * rate`` before the
    update, as Keras's ``weight_decay`` (and torch's AdamW) do: inside ``step()``, so a
    CUDA graph captures it and a skipped update skips it."""

    @torch.no_grad()
    def decay(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        for group in optimizer.param_groups:
            torch._foreach_mul_(group["params"], 1.0 - group["lr"] * rate)

    return decay


def _xent(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy over the steps whose target is not ``IGNORE_TARGET``.

    Per-step logits [batch, steps, classes] go in as [batch, classes, steps] (a view), not
    flattened to rows: torch's CPU log-softmax over a last dimension of a few classes is
    slow (copy's 15,360 rows of 10: 1.35 ms forward, 0.6 ms backward), over dim 1 it is not;
    the copy step's rest fell by about 3 ms on every kernel path."""
    return F.cross_entropy(logits.movedim(-1, 1), targets, ignore_index=IGNORE_TARGET)


LOSSES = {"xent": (_xent, torch.int64), "mse": (F.mse_loss, torch.float32)}
"""Loss kind -> (loss function, dtype of its targets)."""


class ReadoutModel(nn.Module):
    """A cell followed by a linear read-out of every step or of the last step only."""

    def __init__(self, cell: nn.Module, readout: nn.Linear, last_step: bool):
        super().__init__()
        self.cell = cell
        self.readout = readout
        self.last_step = last_step

    def forward(self, x: Tensor) -> Tensor:
        outputs, _ = self.cell(x)
        expected = (*x.shape[:2], self.readout.in_features)
        if tuple(outputs.shape) != expected:  # else a shape error deep in the read-out or loss
            raise ValueError(f"the cell returned outputs of shape {tuple(outputs.shape)}, "
                             f"expected {expected}, [batch, time, hidden] (bench_torch.cells)")
        return self.readout(outputs[:, -1] if self.last_step else outputs)


def build_trainer(config: TrainerConfig) -> TorchTrainer:
    if config.precision != "float32":
        raise UsageError(
            f"backend 'torch' supports precision 'float32' only, got {config.precision!r}"
        )
    _require(config.optimizer, OPTIMIZER_SETTINGS, "optimizer")
    _require(config.loss, LOSSES, "loss kind")
    _require(config.readout, get_args(Readout), "read-out")
    _require(config.init, INITS, "init")
    device = resolve_device(config.device)
    if config.init == "framework":  # the layers' own draws, from the run's seed
        torch.manual_seed(config.seed)
    cell = config.cell_factory(config.input_size, config.hidden, config.options)
    _require_protocol(cell, config.cell_name)
    use_kernel(cell, config.kernel, device.type)
    readout = nn.Linear(config.hidden, config.output_size)
    if config.init == "canonical":
        cell.load_canonical(config.cell_weights)
        load_weights(
            {"kernel": (readout.weight, True), "bias": (readout.bias, False)},
            config.readout_weights,
            "read-out",
        )
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    model = ReadoutModel(cell, readout, last_step=config.readout == "last_step").to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    scheduled = config.lr_schedule.kind != "constant"
    # A captured graph would replay the first learning rate: a schedule trains eagerly.
    graph = device.type == "cuda" and cell.kernel_path == LOOP and not scheduled
    optimizer = make_optimizer(config, trainable, capturable=graph)
    schedule = config.lr_schedule
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda updates: schedule.factor_at(updates, config.steps)
    ) if scheduled else None
    # The dropout masks come from torch's global generator: trainers built in one process
    # share it, so each run's masks are reproducible when runs go one after another.
    torch.manual_seed(config.seed)
    return TorchTrainer(model, optimizer, config.loss, config.clip_norm, device, graph=graph,
                        clip_value=config.clip_value, scheduler=scheduler)


class TorchTrainer:
    """One model, its optimiser and loss on one device (:class:`harness.trainer.Trainer`).

    ``graph`` trains through a CUDA graph of the whole step (:class:`GraphedStep`); its
    optimiser must then be capturable (:func:`make_optimizer`).
    """

    def __init__(self, model: ReadoutModel, optimizer: torch.optim.Optimizer, loss: LossKind,
                 clip_norm: float | None, device: torch.device, graph: bool = False,
                 clip_value: float | None = None,
                 scheduler: torch.optim.lr_scheduler.LRScheduler | None = None):
        self.model = model.train()
        self.optimizer = optimizer
        self.scheduler = scheduler
        """Stepped after each applied update (a skipped one does not count)."""
        self.parameters = [p for group in optimizer.param_groups for p in group["params"]]
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.device = str(device)
        self.parameter_count = sum(p.numel() for p in self.parameters)
        self._loss, self._target_dtype = LOSSES[loss]
        self._device = device
        self._cuda = device.type == "cuda"
        self._graph = (GraphedStep(self.forward_backward, self.eager_step, optimizer,
                                   self.parameters, device) if graph else None)

    @property
    def kernel_path(self) -> str:
        """The cell's path, and whether a CUDA graph replays the step (once captured)."""
        path = self.model.cell.kernel_path
        if self._graph is None:
            return path
        if self._graph.fallback is not None:
            return f"{path} (eager fallback: {self._graph.fallback})"
        return f"{path}+cuda-graph" if self._graph.captured else path

    def train_step(self, inputs: np.ndarray, targets: np.ndarray) -> StepResult:
        step = self.eager_step if self._graph is None else self._graph
        return step(self._tensor(inputs, torch.float32),
                    self._tensor(targets, self._target_dtype))

    def forward_backward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Fresh gradients, clipped; returns [loss, global gradient norm before clipping]."""
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._loss(self.model(inputs), targets)
        loss.backward()
        norm = get_total_norm([p.grad for p in self.parameters if p.grad is not None])
        if self.clip_norm is not None:
            clip_grads_with_norm_(self.parameters, self.clip_norm, norm)
        if self.clip_value is not None:
            clip_grad_value_(self.parameters, self.clip_value)
        return torch.stack((loss.detach(), norm))

    def eager_step(self, inputs: Tensor, targets: Tensor) -> StepResult:
        loss, norm = self.forward_backward(inputs, targets).tolist()
        applied = math.isfinite(loss) and math.isfinite(norm)
        if applied:
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            if self._cuda:  # the protocol: return only once the device has finished
                torch.cuda.synchronize(self._device)
        return StepResult(loss, norm, applied)

    def evaluate(self, inputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        self.model.eval()
        try:
            with torch.inference_mode():
                outputs = self.model(self._tensor(inputs, torch.float32))
                loss = self._loss(outputs, self._tensor(targets, self._target_dtype))
                return loss.item(), outputs.cpu().numpy()
        finally:
            self.model.train()

    def input_gradient(self, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """d loss / d inputs in eval mode; the parameters' gradients are left untouched."""
        self.model.eval()
        try:
            x = self._tensor(inputs, torch.float32).requires_grad_(True)
            loss = self._loss(self.model(x), self._tensor(targets, self._target_dtype))
            (grad,) = torch.autograd.grad(loss, x)
            return grad.cpu().numpy()
        finally:
            self.model.train()

    def peak_device_memory(self) -> int | None:
        return torch.cuda.max_memory_allocated(self._device) if self._cuda else None

    def export_weights(self) -> Weights:
        return self.model.cell.export_canonical()

    def _tensor(self, array: np.ndarray, dtype: torch.dtype) -> Tensor:
        return torch.as_tensor(array, dtype=dtype, device=self._device)


CELL_PROTOCOL = ("forward", "load_canonical", "export_canonical", "canonical_parameters",
                 "kernel_path")
"""What a torch cell module has (:mod:`bench_torch.cells`)."""


def _require_protocol(cell: object, name: str) -> None:
    """Before training, not after it: a run reads ``kernel_path`` only into its record."""
    missing = [member for member in CELL_PROTOCOL if not hasattr(cell, member)]
    if missing:
        raise TypeError(f"cell {name!r} ({type(cell).__name__}) has no {', '.join(missing)}, "
                        "which every torch cell has (see bench_torch.cells)")


def _require(value: str, valid: Iterable[str], what: str) -> None:
    if value not in valid:
        raise UnknownNameError(what, value, valid)
