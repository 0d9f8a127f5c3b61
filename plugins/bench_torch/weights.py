"""Moving canonical numpy weights (:mod:`harness.canonical`) in and out of torch parameters.

A module describes its layout as a :data:`ParameterTable`: canonical name -> (parameter,
whether torch stores it transposed, as ``nn.Linear`` and ``nn.LSTM`` store ``W``/``U``).
"""

from __future__ import annotations

import numpy as np
import torch

from harness.canonical import Weights

ParameterTable = dict[str, tuple[torch.Tensor, bool]]


def load_weights(table: ParameterTable, weights: Weights, owner: str) -> None:
    """Copy ``weights`` into the parameters of ``table``; ValueError on a layout mismatch."""
    if set(weights) != set(table):
        raise ValueError(
            f"{owner} takes canonical weights {sorted(table)}, got {sorted(weights)}"
        )
    with torch.no_grad():
        for name, (param, transposed) in table.items():
            value = np.asarray(weights[name], dtype=np.float32)
            expected = tuple(param.shape[::-1] if transposed else param.shape)
            if value.shape != expected:
                raise ValueError(
                    f"{owner} weight {name!r} has shape {value.shape}, expected {expected}"
                )
            param.copy_(torch.tensor(value.T if transposed else value))


def export_weights(table: ParameterTable) -> Weights:
    """The parameters of ``table`` as canonical float32 arrays (copies, not views)."""
    return {name: to_numpy(param, transposed) for name, (param, transposed) in table.items()}


def export_grads(table: ParameterTable) -> Weights:
    """The gradients of the parameters of ``table``, in the canonical layout."""
    return {name: to_numpy(param.grad, transposed) for name, (param, transposed) in table.items()}


def to_numpy(tensor: torch.Tensor, transposed: bool = False) -> np.ndarray:
    array = tensor.detach().cpu().numpy()
    return (array.T if transposed else array).copy()
