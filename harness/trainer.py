"""The contract between the framework-neutral runner and a backend.

A backend turns a :class:`TrainerConfig` into a :class:`Trainer`: the cell plus a linear
read-out, an optimiser, the task's loss and gradient clipping, on one device, following the
protocol the config gives (docs/protocols.md): initialisation, optimiser settings, weight
decay, clipping by norm or by value and learning-rate schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from harness.canonical import Weights
from harness.protocol import LrSchedule
from harness.tasks import LossKind, Readout


@dataclass(frozen=True)
class TrainerConfig:
    cell_name: str
    cell_factory: Any
    """The registered cell's backend-specific factory."""
    input_size: int
    output_size: int
    hidden: int
    readout: Readout
    loss: LossKind
    options: dict[str, Any]
    optimizer: str
    lr: float
    clip_norm: float | None
    """Global gradient-norm clip, or None; at most one of clip_norm and clip_value is set."""
    device: str
    precision: str
    seed: int
    cell_weights: Weights
    readout_weights: Weights = field(default_factory=dict)
    kernel: str = "auto"
    """``auto``, ``framework`` or one of the cell's ``Cell.kernels`` (harness.spec.KERNELS)."""
    init: str = "canonical"
    """``canonical``: load ``cell_weights`` and ``readout_weights``; ``framework``: keep the
    weights the framework's layers draw, seeded by ``seed`` (harness.protocol.INITS)."""
    epsilon: float | None = None
    """Overrides the optimiser's epsilon in :data:`OPTIMIZER_SETTINGS`."""
    weight_decay: float = 0.0
    """Decoupled: before each applied update every weight is multiplied by 1 - lr_t * decay
    (Keras's ``weight_decay``, torch's AdamW), lr_t the scheduled rate of that update."""
    clip_value: float | None = None
    """Clip each gradient element to [-clip_value, clip_value]."""
    lr_schedule: LrSchedule = field(default_factory=LrSchedule)
    steps: int = 1
    """The run's training steps, the length of a cosine schedule."""


@dataclass(frozen=True)
class StepResult:
    loss: float
    grad_norm: float
    """Global gradient norm before clipping."""
    applied: bool
    """False when the update was skipped because loss or gradient was not finite."""


class Trainer(Protocol):
    kernel_path: str
    """Which execution path ran, e.g. ``fused:nn.LSTM`` or ``loop``."""
    parameter_count: int

    def train_step(self, inputs: np.ndarray, targets: np.ndarray) -> StepResult:
        """One optimiser step; returns only after the device has finished it."""
        ...

    def evaluate(self, inputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and model outputs (logits or values) in inference mode."""
        ...

    def peak_device_memory(self) -> int | None:
        """Peak bytes held by the device allocator, or None on the CPU."""
        ...

    def export_weights(self) -> Weights:
        """The cell's current weights in the canonical layout."""
        ...

    def input_gradient(self, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """d loss / d inputs, [batch, time, features], in inference mode (dropout off).

        Optional: a trainer without it gets no gradient-vs-lag profile.
        """
        ...


OPTIMIZERS = ("adam", "rmsprop", "sgd")
OPTIMIZER_SETTINGS: dict[str, dict[str, float]] = {
    "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "rmsprop": {"rho": 0.9, "epsilon": 1e-7},
    "sgd": {},
}
"""Every backend uses these (Keras's defaults), so that one spec trains the same way in
each framework; torch's own defaults differ (eps 1e-8, RMSprop alpha 0.99)."""


def optimizer_settings(config: TrainerConfig) -> dict[str, float]:
    """The settings of ``config.optimizer`` (:data:`OPTIMIZER_SETTINGS`) with the config's
    epsilon, if it sets one."""
    settings = dict(OPTIMIZER_SETTINGS[config.optimizer])
    if config.epsilon is not None:
        settings["epsilon"] = config.epsilon
    return settings


@dataclass(frozen=True)
class CellProbe:
    """One forward and backward pass of a bare cell, for cross-backend parity checks.

    The loss is ``sum(outputs * cotangent)``; every array is float64-comparable numpy and
    weight gradients are in the canonical layout.
    """

    outputs: np.ndarray
    """[batch, time, H]"""
    final_state: tuple[np.ndarray, ...]
    """(h,) or (h, c) for LSTM."""
    input_grad: np.ndarray
    """d loss / d inputs, [batch, time, input]"""
    weight_grads: Weights
    """d loss / d weight, keyed like the canonical weights."""
