"""The Keras trainer: a cell plus a Dense read-out, the task's loss, an optimiser and
gradient clipping (by global norm or by value), behind :class:`harness.trainer.Trainer`.

The optimisers are Keras's with Keras's defaults, which differ from torch's: Adam adds its
epsilon 1e-7 to sqrt(v) before the bias correction (torch: 1e-8, after), RMSprop decays
with rho 0.9 and puts epsilon 1e-7 inside the square root (torch: alpha 0.99, 1e-8
outside); SGD has no momentum in either. Clipping scales by ``clip / max(norm, clip)``
(torch: ``clip / (norm + 1e-6)`` capped at 1).
"""

from __future__ import annotations

from bench_keras.quiet_import import keras, startup_notices_dropped

import numpy as np
from keras import ops
from keras.optimizers.schedules import CosineDecay, ExponentialDecay, LearningRateSchedule

from bench_keras.framework import (
    compile_step,
    float32_layers,
    keras_device,
    peak_device_memory,
    reset_peak_device_memory,
    run_if,
    value_and_grad,
)
from bench_keras.losses import LOSSES
from harness.canonical import Weights
from harness.errors import UnknownNameError, UsageError
from harness.protocol import INITS
from harness.trainer import StepResult, TrainerConfig, optimizer_settings

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}


class KerasTrainer:
    """Trains one cell; each step is one compiled call (``tf.function`` on TensorFlow,
    ``jax.jit`` on JAX; eager on PyTorch)."""

    def __init__(self, config: TrainerConfig):
        if config.optimizer not in OPTIMIZERS:
            raise UnknownNameError("optimizer", config.optimizer, OPTIMIZERS)
        if config.precision != "float32":
            raise UsageError(f"the Keras backend runs float32 only, not {config.precision!r}")
        self.device = config.device
        self._keras_device = keras_device(config.device)
        self.loss = LOSSES[config.loss]
        self.last_step = config.readout == "last_step"
        if config.init not in INITS:
            raise UnknownNameError("init", config.init, INITS)
        self.clip_norm, self.clip_value = config.clip_norm, config.clip_value
        # The dropout masks' (and layers') seed. It imports TensorFlow, where installed, to
        # seed it too, also on another Keras backend: its start-up notices are dropped there.
        with startup_notices_dropped():
            keras.utils.set_random_seed(config.seed)
        reset_peak_device_memory(config.device)
        with keras.device(self._keras_device), float32_layers():
            self.cell = config.cell_factory(config.input_size, config.hidden, config.options)
            canonical = config.init == "canonical"
            if canonical:
                self.cell.load_canonical(config.cell_weights)
            self.kernel_path: str = self.cell.select_kernel(config.device)
            self.readout = keras.layers.Dense(config.output_size)
            self.readout.build((None, config.hidden))
            if canonical and config.readout_weights:
                self.readout.kernel.assign(config.readout_weights["kernel"])
                self.readout.bias.assign(config.readout_weights["bias"])
            self.variables = [*self.cell.trainable_weights, *self.readout.trainable_weights]
            self.state = [*self.cell.non_trainable_variables,
                          *self.readout.non_trainable_variables]
            self.optimizer = OPTIMIZERS[config.optimizer](
                learning_rate=learning_rate(config), weight_decay=config.weight_decay or None,
                **optimizer_settings(config))
            self.optimizer.build(self.variables)
        self.parameter_count = sum(int(np.prod(v.shape)) for v in self.variables)
        self.updated = [*self.variables, *self.optimizer.variables]
        model_state = [*self.variables, *self.state]
        self._train_step = compile_step(self._step, [*model_state, *self.optimizer.variables])
        self._evaluate = compile_step(self._inference, model_state)
        self._input_gradient = compile_step(self._gradient_of_inputs, model_state)

    def forward(self, inputs, training: bool):
        outputs, _ = self.cell(inputs, training=training)
        return self.readout(outputs[:, -1] if self.last_step else outputs)

    def _step(self, inputs, targets):
        """Loss, gradient norm before clipping and whether the update was applied, stacked
        so that the host reads them in one transfer."""
        with keras.device(self._keras_device):
            loss, _, grads, _ = value_and_grad(
                lambda: (self.loss(targets, self.forward(inputs, training=True)), None),
                self.variables, state=self.state,
            )
            norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads))
            finite = ops.logical_and(ops.isfinite(loss), ops.isfinite(norm))
            if self.clip_norm is not None:
                scale = self.clip_norm / ops.maximum(norm, self.clip_norm)
                grads = [g * scale for g in grads]
            if self.clip_value is not None:
                grads = [ops.clip(g, -self.clip_value, self.clip_value) for g in grads]

            def update() -> None:
                self.optimizer.apply(grads, self.variables)

            run_if(finite, update, self.updated)
            return ops.stack([loss, norm, ops.cast(finite, loss.dtype)])

    def _inference(self, inputs, targets):
        with keras.device(self._keras_device):
            outputs = self.forward(inputs, training=False)
            return self.loss(targets, outputs), outputs

    def _gradient_of_inputs(self, inputs, targets):
        with keras.device(self._keras_device):
            x = ops.convert_to_tensor(inputs)
            *_, (grad,) = value_and_grad(
                lambda x: (self.loss(targets, self.forward(x, training=False)), None), [], [x]
            )
            return grad

    def train_step(self, inputs: np.ndarray, targets: np.ndarray) -> StepResult:
        loss, norm, applied = ops.convert_to_numpy(self._train_step(inputs, targets))
        return StepResult(loss=float(loss), grad_norm=float(norm), applied=bool(applied))

    def evaluate(self, inputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        loss, outputs = self._evaluate(inputs, targets)
        return float(ops.convert_to_numpy(loss)), ops.convert_to_numpy(outputs)

    def input_gradient(self, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """d loss / d inputs in inference mode, for the gradient-vs-lag profile."""
        return ops.convert_to_numpy(self._input_gradient(inputs, targets))

    def peak_device_memory(self) -> int | None:
        return peak_device_memory(self.device)

    def export_weights(self) -> Weights:
        return self.cell.export_canonical()


def learning_rate(config: TrainerConfig) -> float | LearningRateSchedule:
    """The config's rate and schedule as Keras's schedules: evaluated at the optimiser's
    ``iterations``, the updates applied so far (a skipped update does not count)."""
    schedule = config.lr_schedule
    if schedule.kind == "step":
        return ExponentialDecay(config.lr, decay_steps=schedule.every,
                                decay_rate=schedule.factor, staircase=True)
    if schedule.kind == "cosine":
        return CosineDecay(config.lr, decay_steps=config.steps)
    return config.lr


def build_trainer(config: TrainerConfig) -> KerasTrainer:
    return KerasTrainer(config)
