"""Functions a plugin registers without importing their framework until first called."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError


@dataclass(frozen=True)
class LazyFunction:
    """The function at ``"package.module:name"``, imported on its first call.

    A plugin module must not import its framework (bench lists an unavailable backend without
    it), yet what it registers must be callable and picklable, to reach worker processes:
    ``build_trainer=LazyFunction("bench_torch.trainer:build_trainer")`` is both.
    """

    target: str
    missing: str = ""
    """Said as a UsageError (what to install) when the target's module is there but a
    package it imports is not; without it that ModuleNotFoundError propagates."""

    def __post_init__(self) -> None:
        module, sep, name = self.target.partition(":")
        if not (module and sep and name):
            raise ValueError(f"expected 'package.module:function', got {self.target!r}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module_name, _, name = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            ours = exc.name is None or f"{module_name}.".startswith(f"{exc.name}.")
            if ours or not self.missing:
                raise
            raise UsageError(self.missing) from None
        return getattr(module, name)(*args, **kwargs)
