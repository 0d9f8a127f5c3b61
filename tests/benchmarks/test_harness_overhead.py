"""The harness adds nothing measurable to a training step (docs/architecture.md §8)."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from .conftest import harness_trainer, interleaved_medians, training_step

TOLERANCE = 1.05


def hand_written_torch_step(batches):
    """The same model as torch:lstm + read-out, written the way a user would."""
    torch.manual_seed(0)
    lstm = nn.LSTM(10, 128, batch_first=True)
    head = nn.Linear(128, 10)
    params = [*lstm.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    cycle = itertools.cycle(batches)

    def step():
        batch = next(cycle)
        x, y = torch.as_tensor(batch.inputs), torch.as_tensor(batch.targets)
        optimizer.zero_grad()
        outputs, _ = lstm(x)
        loss = F.cross_entropy(head(outputs).flatten(0, 1), y.flatten())
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        return loss.item()

    return step


def compare_with_hand_written(benchmark, registry, cell: str, hand_step, rounds: int) -> None:
    """Time the harness's step for ``cell`` against ``hand_step`` interleaved; assert the ratio."""
    _, trainer, batches = harness_trainer(registry, cell)
    harness_step = training_step(trainer, batches)
    medians = interleaved_medians({"harness": harness_step, "hand": hand_step(batches)},
                                  rounds=rounds)
    ratio = medians["harness"] / medians["hand"]
    benchmark.extra_info.update(harness_ms=medians["harness"] * 1e3,
                                hand_ms=medians["hand"] * 1e3, ratio=ratio)
    benchmark.pedantic(harness_step, rounds=10, iterations=1, warmup_rounds=2)
    print(f"\n{cell} copy T=100 b128 h128: harness {medians['harness'] * 1e3:.2f} ms, "
          f"hand-written {medians['hand'] * 1e3:.2f} ms, ratio {ratio:.3f}")
    assert ratio < TOLERANCE


def test_torch_lstm_harness_step_vs_hand_written_loop(benchmark, full_registry):
    compare_with_hand_written(benchmark, full_registry, "torch:lstm", hand_written_torch_step,
                              rounds=40)


def hand_written_keras_step(batches):
    """The same model as keras:lstm + read-out, trained with Keras's own train_on_batch."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((batches[0].inputs.shape[1], 10)),
        keras.layers.LSTM(128, return_sequences=True),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cycle = itertools.cycle(batches)

    def step():
        batch = next(cycle)
        return float(model.train_on_batch(batch.inputs, batch.targets))

    return step


def test_keras_lstm_harness_step_vs_hand_written_loop(benchmark, full_registry):
    compare_with_hand_written(benchmark, full_registry, "keras:lstm", hand_written_keras_step,
                              rounds=30)
