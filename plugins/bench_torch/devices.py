"""The devices torch can run on here, and how a device string becomes a torch.device."""

from __future__ import annotations

import torch

from harness.errors import BackendUnavailableError, UnknownNameError


def list_devices() -> list[str]:
    """Best first."""
    return ["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"]


def describe_device(device: str) -> str:
    """The GPU model for a CUDA device; other devices name themselves."""
    resolved = resolve_device(device)
    return torch.cuda.get_device_name(resolved) if resolved.type == "cuda" else device


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N``, checked against what this machine has."""
    available = list_devices()
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UnknownNameError("torch device", name, available) from None
    if device.type not in available:
        raise BackendUnavailableError(
            f"device {name!r} is not available to torch here (available: {', '.join(available)})"
        )
    return device
