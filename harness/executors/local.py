"""The default executor: runs one after another in this process."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from harness.errors import UsageError
from harness.executors import ExecutorOptions, StepProgress
from harness.records import RunRecord
from harness.runner import execute
from harness.spec import RunSpec


class LocalExecutor:
    def __init__(self, options: ExecutorOptions):
        if options.workers not in (None, 1):
            raise UsageError("the local executor runs one run at a time; for --workers "
                             f"{options.workers} use --executor process")

    def run(self, specs: Sequence[RunSpec], on_step: StepProgress | None = None
            ) -> Iterator[RunRecord]:
        for spec in specs:
            progress = None
            if on_step is not None:
                def progress(step: int, loss: float, spec: RunSpec = spec) -> None:
                    on_step(spec, step, loss)
            yield execute(spec, progress=progress)

    def close(self) -> None:
        pass
