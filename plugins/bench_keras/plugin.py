"""The plugin module of the Keras backend (entry point ``bench = keras``).

Registering must not import Keras or its framework (a missing one shows as "unavailable"),
so everything registered here reaches the framework through a ``LazyFunction``, which
imports it on first call.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from bench_keras.installation import availability, configured_backend, describe_version
from harness import hookimpl
from harness.catalogue import standard_cells
from harness.lazy import LazyFunction
from harness.registry import Backend, Cell

NAME = "keras"
FUSED = frozenset({"lstm", "gru"})
"""Keras runs these on cuDNN where the options allow; its SimpleRNN has no fused kernel."""


build_cell = LazyFunction("bench_keras.cells:build_cell")
CELL_FACTORIES = {name: partial(build_cell, name) for name in ("rnn", "lnrnn", "lstm", "gru")}
"""Every standard cell (:mod:`harness.catalogue`), as ``bench_keras.cells`` builds it."""
build_trainer = LazyFunction("bench_keras.trainer:build_trainer")
probe_cell = LazyFunction("bench_keras.probe:probe_cell")
set_threads = LazyFunction("bench_keras.threads:set_threads")
list_devices = LazyFunction("bench_keras.framework:list_devices")
describe_device = LazyFunction("bench_keras.framework:describe_device")


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
            cell_protocol="bench_keras.cells",
            set_threads=set_threads,
            spread_when_busy=configured_backend() == "tensorflow",
        )
    )


@hookimpl
def bench_register_cells(register: Callable[[Cell], None]) -> None:
    for cell in standard_cells(NAME, CELL_FACTORIES, fused=FUSED):
        register(cell)
