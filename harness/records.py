"""RunRecord: one self-describing JSON document per run, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import UsageError
from harness.gradients import GradientProfile
from harness.memory import MemoryEvidence
from harness.spec import RunSpec

SCHEMA = "bench.run"
SCHEMA_VERSION = 1

Status = Literal["ok", "diverged", "failed"]


@dataclass
class EvalPoint:
    step: int
    seconds: float
    """Training seconds elapsed (step time only, evaluation excluded)."""
    loss: float
    loss_ratio: float
    headline: float
    p_value: float | None = None
    """Of the memory test at this evaluation (:mod:`harness.memory`)."""


@dataclass
class Accuracy:
    baseline_loss: float
    headline_name: str
    chance: float
    solved_criterion: str
    final_loss: float | None = None
    loss_ratio: float | None = None
    headline: float | None = None
    solved: bool = False
    steps_to_solve: int | None = None
    seconds_to_solve: float | None = None
    memory: MemoryEvidence | None = None
    """The memory test of the final evaluation."""
    curve: list[EvalPoint] = field(default_factory=list)


@dataclass
class Speed:
    device: str
    kernel_path: str
    parameter_count: int
    timed_steps: int = 0
    step_ms_median: float | None = None
    step_ms_p10: float | None = None
    step_ms_p90: float | None = None
    warmup_seconds: float = 0.0
    """Time of the first (compile/warm-up) steps, excluded from the step statistics."""
    tokens_per_second: float | None = None
    eval_samples_per_second: float | None = None
    peak_rss_mb: float | None = None
    """Peak resident memory of the process that ran it."""
    device_peak_mb: float | None = None
    step_ms: list[float] = field(default_factory=list)
    """Every timed step, in ms (rounded), for significance tests between runs."""


@dataclass
class Stability:
    grad_norm_median: float | None = None
    grad_norm_p99: float | None = None
    grad_norm_max: float | None = None
    clipped_fraction: float | None = None
    nonfinite_events: int = 0
    loss_spikes: int = 0
    """Steps whose loss jumped above 3x the median of the 50 before."""
    gradient_profile: GradientProfile | None = None


@dataclass
class RunRecord:
    spec: RunSpec
    status: Status
    run_id: str
    error: str | None = None
    steps_done: int = 0
    accuracy: Accuracy | None = None
    speed: Speed | None = None
    stability: Stability | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    schema: str = SCHEMA
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"schema": data.pop("schema"), "schema_version": data.pop("schema_version"),
                **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        data = dict(data)
        accuracy = data.pop("accuracy", None)
        if accuracy is not None:
            curve = [EvalPoint(**p) for p in accuracy.pop("curve", [])]
            memory = accuracy.pop("memory", None)
            accuracy = Accuracy(**accuracy, curve=curve,
                                memory=MemoryEvidence(**memory) if memory else None)
        speed = data.pop("speed", None)
        stability = data.pop("stability", None)
        if stability is not None and stability.get("gradient_profile") is not None:
            stability["gradient_profile"] = GradientProfile(**stability["gradient_profile"])
        return cls(
            spec=RunSpec.from_dict(data.pop("spec")),
            accuracy=accuracy,
            speed=Speed(**speed) if speed is not None else None,
            stability=Stability(**stability) if stability is not None else None,
            **data,
        )


def record_path(out_dir: Path, spec: RunSpec) -> Path:
    return out_dir / f"{spec.label}-{spec.run_id}.json"


def write_record(out_dir: Path, record: RunRecord) -> Path:
    """Write via a temporary file and rename, so a reader never sees half a record."""
    path = record_path(out_dir, record.spec)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=out_dir)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(record.to_dict(), handle, indent=1, allow_nan=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_record(path: Path) -> RunRecord:
    """Load one record; UsageError names the file if it is not a readable bench record."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable JSON record ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{path}: not a {SCHEMA} record")
    version = data.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise UsageError(f"{path}: schema_version {version!r} is newer than this bench "
                         f"understands ({SCHEMA_VERSION}); upgrade bench-harness")
    try:
        return RunRecord.from_dict(data)
    except (TypeError, KeyError) as exc:
        raise UsageError(f"{path}: malformed record ({exc})") from None


def existing_record(out_dir: Path, spec: RunSpec) -> RunRecord | None:
    """The finished record of this exact spec in ``out_dir``, if one is there and readable."""
    path = record_path(out_dir, spec)
    if not path.exists():
        return None
    try:
        record = read_record(path)
    except UsageError:
        return None
    return record if record.spec == spec and record.status != "failed" else None


def ensure_writable(out_dir: Path) -> None:
    """Create ``out_dir`` and prove a file can be written there, before any work starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"cannot write results to {str(out_dir)!r}: {reason}") from None


@dataclass
class ResultSet:
    """The records found under a path, and the files that could not be read (with why)."""

    records: list[RunRecord]
    skipped: list[tuple[Path, str]]


def load_results(path: Path) -> ResultSet:
    """Every record in a results directory (recursively) or a single record file.

    An unreadable file is named in ``skipped`` and the rest are still returned; a path with
    no readable record at all is a UsageError.
    """
    if not path.exists():
        raise UsageError(f"no such results directory or file: {str(path)!r}")
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    files = [f for f in files if not f.name.startswith(".tmp-")]
    records, skipped = [], []
    for file in files:
        try:
            records.append(read_record(file))
        except UsageError as exc:
            skipped.append((file, str(exc)))
    if not records:
        why = f"; unreadable: {skipped[0][1]}" if skipped else ""
        raise UsageError(f"no run records in {str(path)!r}{why}")
    return ResultSet(records, skipped)
