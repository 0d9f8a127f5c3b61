"""RunSpec: everything that determines a run. A run is a pure function of its spec."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from harness.errors import UsageError
from harness.protocol import LrSchedule, check_init
from harness.trainer import OPTIMIZER_SETTINGS

DEVICES = ("auto", "cpu", "cuda")
KERNELS = ("auto", "framework", "bench", "compiled")
"""Which recurrence runs (``bench run --kernel``): ``framework``, the framework's own kernels
(fused where the options allow, else its step loop); ``bench`` and ``compiled``, bench's own
as framework operations or compiled loops, where a backend has them (``Cell.kernels`` says);
``auto``, the fastest that is legal for the options."""
PRECISIONS = ("float32",)
MAX_SEED = 2**32 - 1
"""Seeds go to numpy's SeedSequence and to each framework's generator, which take 32 bits."""
MAX_COUNT = 2**31 - 1
"""The largest step count, size or batch a run takes: the frameworks count in C ints (a run
of more steps trained for minutes, then failed converting its step number)."""
UNSAFE_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9_.+=-]")


@dataclass(frozen=True)
class RunSpec:
    task: str
    cell: str
    """Qualified ``backend:cell`` name."""
    task_params: dict[str, bool | int | float | str] = field(default_factory=dict)
    options: dict[str, float] = field(default_factory=dict)
    """Cell options such as dropout and recurrent_dropout."""
    hidden: int = 128
    batch: int = 64
    optimizer: str = "adam"
    lr: float = 0.003
    clip_norm: float | None = 1.0
    """Global gradient-norm clip; None: no norm clipping."""
    steps: int = 1000
    eval_every: int = 50
    eval_size: int = 512
    warmup_steps: int = 5
    seed: int = 0
    device: str = "auto"
    precision: str = "float32"
    stop_when_solved: bool = True
    kernel: str = "auto"
    """One of :data:`KERNELS`."""
    init: str = "canonical"
    """One of :data:`harness.protocol.INITS`."""
    epsilon: float | None = None
    """The optimiser's epsilon; None: harness.trainer.OPTIMIZER_SETTINGS's."""
    weight_decay: float = 0.0
    """Decoupled weight decay: each update first multiplies every weight by 1 - lr * decay."""
    clip_value: float | None = None
    """Clip every gradient element to [-clip_value, clip_value]; exclusive with clip_norm."""
    lr_schedule: str = "constant"
    """A :class:`harness.protocol.LrSchedule` in its command-line form."""

    IGNORES_UNKNOWN_FIELDS: ClassVar[bool] = True
    """Reading a record drops spec fields this version does not know (see from_dict)."""
    ID_OMITS_AT_DEFAULT: ClassVar[tuple[str, ...]] = (
        "init", "epsilon", "weight_decay", "clip_value", "lr_schedule")
    """Protocol fields added after records existed: left out of :attr:`run_id` while they
    hold their default, so a record made before them keeps its id (and resumes)."""

    @property
    def backend(self) -> str:
        return self.cell.split(":", 1)[0]

    @property
    def cell_name(self) -> str:
        return self.cell.split(":", 1)[1]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def run_id(self) -> str:
        """A stable digest of the spec: equal specs are the same run."""
        data = self.to_dict()
        for name in self.ID_OMITS_AT_DEFAULT:
            if data[name] == _DEFAULTS[name]:
                del data[name]
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        params = "".join(f"-{k}{v}" for k, v in sorted(self.task_params.items()))
        return f"{self.task}{params}-{self.backend}-{self.cell_name}-seed{self.seed}"

    @property
    def file_stem(self) -> str:
        """The label as a file name: any character outside a safe set (a path separator,
        say, in a task parameter) becomes ``_``; the run id keeps the name unique."""
        return UNSAFE_IN_FILE_NAMES.sub("_", f"{self.label}-{self.run_id}")

    @property
    def title(self) -> str:
        """Short human label: cell, task parameters and seed."""
        return self.title_naming(self.cell)

    def title_naming(self, cell: str) -> str:
        """:attr:`title` with the cell called ``cell`` (``torch:rnn (hidden=12)``, say)."""
        params = " ".join(f"{k}={v}" for k, v in sorted(self.task_params.items()))
        return " ".join(filter(None, [cell, params, f"seed {self.seed}"]))

    def validate(self) -> None:
        """Checks that need no registry; raise UsageError naming the bad value."""
        positive = {"hidden": self.hidden, "batch": self.batch, "steps": self.steps,
                    "eval_every": self.eval_every, "eval_size": self.eval_size}
        for name, value in positive.items():
            if not 1 <= value <= MAX_COUNT:
                raise UsageError(f"--{name.replace('_', '-')} must be a whole number from 1 "
                                 f"to {MAX_COUNT}, got {value}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UsageError(f"--lr must be a finite positive number, got {self.lr:g}")
        self._validate_protocol()
        if not 0 <= self.seed <= MAX_SEED:
            raise UsageError(f"seed must be in [0, {MAX_SEED}], got {self.seed}")
        if self.warmup_steps < 0:
            raise UsageError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.device not in DEVICES:
            raise UsageError(f"unknown device {self.device!r} (valid: {', '.join(DEVICES)})")
        if self.kernel not in KERNELS:
            raise UsageError(f"unknown kernel {self.kernel!r} (valid: {', '.join(KERNELS)})")
        if self.precision not in PRECISIONS:
            raise UsageError(f"unknown precision {self.precision!r} "
                             f"(valid: {', '.join(PRECISIONS)})")
        for name in ("dropout", "recurrent_dropout"):
            value = self.options.get(name, 0.0)
            if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
                shown = f"{value:g}" if isinstance(value, (int, float)) else repr(value)
                raise UsageError(f"--{name.replace('_', '-')} must be in [0, 1), got {shown}")

    def _validate_protocol(self) -> None:
        for option, value in (("--clip", self.clip_norm), ("--clip-value", self.clip_value),
                              ("--epsilon", self.epsilon)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise UsageError(f"{option} must be a finite positive number, got {value:g}")
        if self.clip_norm is not None and self.clip_value is not None:
            raise UsageError(f"--clip {self.clip_norm:g} and --clip-value {self.clip_value:g} "
                             "both clip the gradients; give one (--clip none turns norm "
                             "clipping off)")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise UsageError(f"--weight-decay must be a finite number >= 0, "
                             f"got {self.weight_decay:g}")
        with_epsilon = [name for name, settings in OPTIMIZER_SETTINGS.items()
                        if "epsilon" in settings]
        if self.epsilon is not None and self.optimizer not in with_epsilon:
            raise UsageError(f"--epsilon {self.epsilon:g} does not apply to --optimizer "
                             f"{self.optimizer} (valid with: {', '.join(with_epsilon)})")
        check_init(self.init)
        LrSchedule.parse(self.lr_schedule)


_DEFAULTS = {f.name: f.default for f in fields(RunSpec)}
