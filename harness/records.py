"""RunRecord: one self-describing JSON document per run, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.atomic import staged
from harness.errors import UsageError
from harness.formatting import plural
from harness.gradients import GradientProfile
from harness.memory import MemoryEvidence
from harness.spec import RunSpec
from harness.typed_json import ShapeError, build, to_json_data

SCHEMA = "bench.run"
SCHEMA_VERSION = 1
MAX_RECORD_BYTES = 32 * 2**20
"""Larger files are refused unread: a real record is kilobytes (a million timed steps would
be about 8 MB), and parsing hundreds of megabytes costs minutes and gigabytes."""

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
    page_faults_per_step: float | None = None
    """Median minor page faults of the process during a timed step: memory the step touched
    for the first time since the allocator took it from the system. Where it is in the
    thousands, the step pays for that (on a 2-core VM, torch:lstm's compiled step at the
    standard size took 40 ms at 0 and 57 ms at 16,500, by process; docs/kernels.md)."""
    device_peak_mb: float | None = None
    step_ms: list[float] = field(default_factory=list)
    """Every timed step, in ms (rounded), for significance tests between runs."""
    reference_us: float | None = None
    """The fast end (5th percentile) of a fixed piece of work timed beside each timed step,
    in µs (harness.runner.reference_work): the machine's own speed during the run."""


@dataclass
class Stability:
    grad_norm_median: float | None = None
    grad_norm_p99: float | None = None
    grad_norm_max: float | None = None
    clipped_fraction: float | None = None
    """Share of steps whose gradient norm exceeded the norm clip; None without one."""
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

    @property
    def status_line(self) -> str:
        """The status, and for a failed run the steps it did and the first line of why (the
        tables show it)."""
        reason = (self.error or "").strip().splitlines()
        if self.status != "failed" or not reason:
            return self.status
        return f"failed after {plural(self.steps_done, 'step')}: {reason[0]}"

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON data (a non-finite number is None), schema and version first."""
        data = to_json_data(asdict(self))
        return {"schema": data.pop("schema"), "schema_version": data.pop("schema_version"),
                **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """The record in ``data``, every value checked against the field types
        (:class:`~harness.typed_json.ShapeError` names the first that does not fit)."""
        record = build(cls, data, "record")
        backend, colon, cell = record.spec.cell.partition(":")
        if not (backend and colon and cell):  # file names and tables split it
            raise ShapeError("record.spec.cell", "'backend:cell'", record.spec.cell)
        return record


def record_path(out_dir: Path, spec: RunSpec) -> Path:
    return out_dir / f"{spec.file_stem}.json"


def write_record(out_dir: Path, record: RunRecord) -> Path:
    """Write via a temporary file and rename, so a reader never sees half a record."""
    path = record_path(out_dir, record.spec)
    with staged(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        json.dump(record.to_dict(), handle, indent=1, allow_nan=False)
    return path


def read_record(path: Path) -> RunRecord:
    """Load one record; UsageError names the file if it is not a readable bench record."""
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise UsageError(f"{path}: {size / 2**20:.0f} MiB is larger than any run record "
                             f"(at most {MAX_RECORD_BYTES // 2**20} MiB); not read")
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable JSON record ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{path}: not a {SCHEMA} record")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise UsageError(f"{path}: schema_version {version!r} is not an integer")
    if version > SCHEMA_VERSION:
        raise UsageError(f"{path}: schema_version {version!r} is newer than this bench "
                         f"understands ({SCHEMA_VERSION}); upgrade bench-harness")
    try:
        return RunRecord.from_dict(data)
    except ShapeError as exc:
        raise UsageError(f"{path}: malformed record ({exc})") from None


def existing_record(out_dir: Path, spec: RunSpec) -> RunRecord | None:
    """The finished record of this exact spec in ``out_dir``, or None if there is none.

    A file there that is not a readable record raises UsageError: it may be a newer bench's
    result, so the caller must not write over it (see :func:`set_aside`).
    """
    path = record_path(out_dir, spec)
    if not path.exists():
        return None
    record = read_record(path)
    return record if record.spec == spec and record.status != "failed" else None


def set_aside(path: Path) -> Path:
    """Rename an unreadable file to a free ``NAME.unreadable[-N]`` beside it (never a
    ``.json`` name, so no reader takes it for a record); return the new path."""
    for number in range(1000):
        kept = path.with_name(path.name + (f".unreadable-{number}" if number else ".unreadable"))
        if not kept.exists():
            os.replace(path, kept)
            return kept
    raise UsageError(f"{path}: cannot set it aside, 1000 earlier copies are in the way")


PROBE_BYTES = 4096
"""Bytes the writability check writes and syncs (a filesystem block, about a small record):
an empty file would pass on a full disk."""


def ensure_writable(out_dir: Path) -> None:
    """Create ``out_dir`` and prove a record can be written there, before any work starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".probe-") as probe:
            probe.write(b"\0" * PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
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
