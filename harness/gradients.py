"""The gradient-vs-lag profile: how far back the gradient of the loss reaches.

``‖∂L/∂x_t‖`` for every input step t, indexed by lag (steps before the end of the input),
computed through the backend's own autograd on a fixed held-out batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REACH_FRACTION = 0.01
"""The gradient still reaches a lag while its norm is at least this share of the largest."""


@dataclass
class GradientProfile:
    fraction: float = REACH_FRACTION
    initial: list[float] = field(default_factory=list)
    """‖∂L/∂x‖ at lag 0, 1, ... (lag 0 = the last input step), at initialisation."""
    final: list[float] = field(default_factory=list)
    """The same at the end of training."""
    reach_initial: int | None = None
    reach_final: int | None = None


def lag_profile(input_grad: np.ndarray) -> np.ndarray:
    """Norm over batch and features of d loss / d inputs [batch, time, features], by lag."""
    per_step = np.sqrt(np.square(input_grad.astype(np.float64)).sum(axis=(0, 2)))
    return per_step[::-1]


def reach(profile: np.ndarray, fraction: float = REACH_FRACTION) -> int | None:
    """The largest lag whose gradient norm is at least ``fraction`` of the profile's maximum."""
    if profile.size == 0 or not np.isfinite(profile).all() or profile.max() <= 0:
        return None
    return int(np.flatnonzero(profile >= fraction * profile.max()).max())


def compact(profile: np.ndarray) -> list[float]:
    return [float(f"{v:.4g}") for v in profile]
