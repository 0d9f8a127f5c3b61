"""The plugin module of the Keras backend (entry point ``bench = keras``).

Registering must not import Keras or its framework (a missing one shows as "unavailable"),
so everything registered here reaches the framework through a function that imports it
on first call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from bench_keras.installation import availability, describe_version
from harness import hookimpl
from harness.canonical import STANDARD_INITIALIZERS, Weights
from harness.registry import Backend, Cell
from harness.trainer import CellProbe, Trainer, TrainerConfig

NAME = "keras"
DESCRIPTIONS = {
    "rnn": "tanh RNN (keras.layers.SimpleRNN)",
    "lnrnn": "layer-normalised tanh RNN, Géron's LNSimpleRNNCell (keras.layers.RNN loop)",
    "lstm": "LSTM (keras.layers.LSTM; cuDNN when the options allow)",
    "gru": "reset-after GRU (keras.layers.GRU; cuDNN when the options allow)",
}
FUSED = {"lstm", "gru"}


def build_cell(cell_name: str, input_size: int, hidden: int, options: Mapping[str, Any]):
    from bench_keras import cells

    return cells.build_cell(cell_name, input_size, hidden, options)


def build_trainer(config: TrainerConfig) -> Trainer:
    from bench_keras import trainer

    return trainer.build_trainer(config)


def probe_cell(cell: Cell, weights: Weights, inputs, cotangent,
               options: Mapping[str, Any]) -> CellProbe:
    from bench_keras import probe

    return probe.probe_cell(cell, weights, inputs, cotangent, options)


def list_devices() -> list[str]:
    from bench_keras import framework

    return framework.list_devices()


def describe_device(device: str) -> str:
    from bench_keras import framework

    return framework.describe_device(device)


@hookimpl
def bench_register_backends(register: Callable[[Backend], None]) -> None:
    available, reason = availability()
    register(
        Backend(
            name=NAME,
            framework="Keras",
            version=describe_version(),
            available=available,
            reason=reason,
            build_trainer=build_trainer,
            list_devices=list_devices,
            describe_device=describe_device,
            probe_cell=probe_cell,
        )
    )


@hookimpl
def bench_register_cells(register: Callable[[Cell], None]) -> None:
    for name, initializer in STANDARD_INITIALIZERS.items():
        register(
            Cell(
                name=name,
                backend=NAME,
                factory=partial(build_cell, name),
                initializer=initializer,
                fused=name in FUSED,
                description=DESCRIPTIONS[name],
            )
        )
