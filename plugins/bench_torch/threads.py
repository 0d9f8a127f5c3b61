"""PyTorch's thread pools, set by bench's thread policy (harness.threads)."""

from __future__ import annotations

import torch

_independent: tuple[int, int] | None = None
"""(torch's intra-op count when it was set, the independent threads) from the last
:func:`set_independent_threads`."""


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


def set_independent_threads(count: int) -> None:
    """Threads for the compiled loops' batch parts (:mod:`bench_torch.compiled`), whose
    threads never wait for one another within a sequence."""
    global _independent
    _independent = (torch.get_num_threads(), count)


def independent_threads() -> int:
    """What :func:`set_independent_threads` set, as long as torch's own count is still the
    one it was set beside; torch's count otherwise (code that sets torch's count itself, as
    a user of the kernels outside a bench run does, gets one part per torch thread)."""
    if _independent is not None and _independent[0] == torch.get_num_threads():
        return _independent[1]
    return torch.get_num_threads()
