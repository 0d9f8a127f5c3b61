"""PyTorch's thread pools, set by bench's thread policy (harness.threads)."""

from __future__ import annotations

import torch


def set_threads(count: int) -> int:
    """Intra-op threads for the next runs, and inter-op threads where still possible: torch
    takes those only before its first inter-op parallel work, so a process that ran already
    keeps its first count. Returns the intra-op count in effect."""
    torch.set_num_threads(count)
    try:
        torch.set_num_interop_threads(count)
    except RuntimeError:
        pass
    return torch.get_num_threads()
