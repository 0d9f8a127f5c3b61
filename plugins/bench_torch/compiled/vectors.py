"""The compiled loops in full-width vectors on a CPU with AVX-512.

LLVM tunes for recent Intel CPUs with 256-bit vectors even where they have 512-bit ones (its
``prefer-256-bit`` tuning: wide vectors once lowered those CPUs' clock). MKL's products in
the same step use AVX-512 already, so the clock is the same either way; on this machine
(Emerald Rapids) the LSTM's gate pass took 2.2 ns a unit in 512-bit vectors against 3.1 in
256-bit ones, and whole training steps 2-6% less (docs/kernels.md).

The setting is numba's CPU feature list (``NUMBA_CPU_FEATURES``): it holds for all numba
compiles in the process, and takes effect only if numba has compiled nothing yet (bench
imports numba for these loops alone). numba keys its on-disk cache on the features, so code
cached under other features is compiled once more, never reused. A user's own
``NUMBA_CPU_FEATURES`` or ``NUMBA_CPU_NAME`` is kept as it is.
"""

from __future__ import annotations

from numba.core import config
from numba.core.codegen import get_host_cpu_features

WIDE = "-prefer-256-bit"
"""The feature that turns LLVM's 256-bit preference off."""


def prefer_wide_vectors() -> None:
    """Have numba compile for this CPU with its widest vectors."""
    if config.CPU_FEATURES is None and config.CPU_NAME is None:
        features = get_host_cpu_features()
        if "+avx512f" in features.split(","):
            config.CPU_FEATURES = f"{features},{WIDE}"
