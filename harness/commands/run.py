"""``bench run``: train cells on a task and record accuracy, stability and speed."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from harness import claims, stopping
from harness.answer import answer_json, answer_line, answer_lines
from harness.commands import Parser
from harness.display import stderr, stdout, warn_plugin_errors
from harness.errors import BenchError, UsageError, warn
from harness.execution import Executor, ExecutorOptions, failed_record
from harness.formatting import plural
from harness.plugins import default_host
from harness.progress import RunProgress, duration
from harness.protocol import INITS
from harness.records import (
    RunRecord,
    ensure_writable,
    existing_record,
    record_path,
    set_aside,
    write_record,
)
from harness.render.terminal import to_rich
from harness.repeats import given_once
from harness.runner import validate
from harness.search import (
    BUDGET_RUNS,
    MAX_LENGTH,
    at_length,
    first_length,
    plan_searches,
    search_lengths,
)
from harness.spec import DEVICES, KERNELS, MAX_SEED, RunSpec
from harness.suites import suite_runs
from harness.sweep import (
    MemoryLength,
    memory_lengths,
    run_titles,
    summarise_cells,
)
from harness.tables import memory_table, seeds_table, summary_table
from harness.tasks import LENGTH_PARAMETER
from harness.trainer import OPTIMIZERS

DEFAULT_OUT = "bench-results"
DEFAULT_TIMEOUT_S = 86_400.0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="train cells on a task and record accuracy, stability and speed",
        description="Train each cell (× seed) on a task with fresh data every step, evaluate "
        "on a fixed held-out set, and write one JSON record per run. Runs whose record "
        "is already in --out are skipped (use --force to rerun).",
    )
    add_arguments(p)
    p.set_defaults(execute=execute_command)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", metavar="NAME_OR_PATH", help="run a suite instead of --task and "
                   "--cells: a TOML file, or NAME for results/suites/NAME.toml or a suite bench "
                   "ships (ci)")
    p.add_argument("--task", help="task name, e.g. copy or adding (bench list)")
    p.add_argument("--cells", type=_comma_list,
                   help="comma-separated cells, e.g. lstm,lnrnn or torch:lstm; an unqualified "
                   "name runs in every available backend that has it")
    p.add_argument("--backend", help="only use cells of this backend")
    lengths = p.add_mutually_exclusive_group()
    lengths.add_argument("--length", type=int, help="task length T, the memory delay "
                         "(default: the task's own, see bench list)")
    lengths.add_argument("--lengths", type=_int_list, help="sweep these lengths, e.g. "
                         "25,50,100,200, and report each cell's memory length (without "
                         "--length or --lengths, a task with a length searches it per cell)")
    p.add_argument("--budget", type=int, help="training steps per cell and seed for the "
                   f"length search (default: {BUDGET_RUNS} x --steps)")
    p.add_argument("--max-length", type=int, help="the longest length the length search "
                   f"tries (default: the task's maximum, else {MAX_LENGTH})")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="other task parameter (repeatable)")
    p.add_argument("--seeds", type=_seed_list, default=[0], help="comma-separated seeds "
                   "(default: 0)")
    d = RunSpec
    p.add_argument("--steps", type=int, default=d.steps,
                   help=f"training steps per run (default: {d.steps})")
    p.add_argument("--hidden", type=int, default=d.hidden,
                   help=f"hidden size (default: {d.hidden})")
    p.add_argument("--batch", type=int, default=d.batch, help=f"batch size (default: {d.batch})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default: {d.lr:g})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer,
                   help=f"(default: {d.optimizer})")
    add_protocol_arguments(p)
    p.add_argument("--dropout", type=float, default=0.0, help="input dropout (default: 0)")
    p.add_argument("--recurrent-dropout", type=float, default=0.0,
                   help="recurrent-state dropout; rules out the frameworks' fused kernels "
                   "(default: 0)")
    p.add_argument("--kernel", choices=KERNELS, default=d.kernel,
                   help="framework: the framework's own kernels; bench: bench's own as torch "
                   "operations (torch cells, any device); compiled: bench's own compiled "
                   "loops (torch cells, CPU); auto: the fastest legal for the options "
                   "(default: auto)")
    p.add_argument("--eval-every", type=int, default=d.eval_every,
                   help=f"evaluate every N steps (default: {d.eval_every})")
    p.add_argument("--eval-size", type=int, default=d.eval_size,
                   help=f"held-out evaluation samples (default: {d.eval_size})")
    p.add_argument("--no-early-stop", action="store_true",
                   help="keep training after the task is solved")
    p.add_argument("--device", choices=DEVICES, default=d.device,
                   help="auto picks the backend's best device (default: auto)")
    add_execution_arguments(p, DEFAULT_OUT)
    p.add_argument("--json", action="store_true", help="print the records as JSON on stdout")


def add_execution_arguments(p: argparse.ArgumentParser, default_out: str | None,
                            shown_default: str = DEFAULT_OUT) -> None:
    """The options that say where and how runs execute (shared with ``bench reproduce``)."""
    p.add_argument("--executor",
                   help="where runs execute: local (this process), process (a pool of worker "
                   "processes), dask (a Dask cluster, with pip install 'bench-harness[dask]'), "
                   "or one a plugin adds (bench list); "
                   "default: process for a length search of several cells (one cell per "
                   "worker, docs/memory.md), else local")
    p.add_argument("--workers", type=int, help="worker processes for --executor process, "
                   "or of the local cluster --executor dask starts without --scheduler "
                   "(default: one per CPU core)")
    p.add_argument("--scheduler", help="address of an existing cluster scheduler, e.g. "
                   "tcp://host:8786 (--executor dask)")
    p.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                   help="time limit of each run; a run over it is stopped and recorded as "
                   f"failed (default: {DEFAULT_TIMEOUT_S:g}, a day: no real run is near it)")
    p.add_argument("--threads", type=_threads, help="threads per run for every framework "
                   "(default: the CPUs free to this process at each run's start, shared among "
                   "the runs going on at once, at least 1; with none free, work whose "
                   "threads never wait for each other, such as bench's compiled loops, "
                   "takes the run's share of every CPU)")
    p.add_argument("--out", type=_out_dir, default=default_out,
                   help=f"results directory (default: {shown_default})")
    p.add_argument("--force", action="store_true", help="rerun runs already recorded in --out")


def add_protocol_arguments(p: argparse.ArgumentParser) -> None:
    """The training protocol beyond --optimizer and --lr (docs/protocols.md)."""
    d = RunSpec
    p.add_argument("--init", choices=INITS, default=d.init,
                   help="initial weights: canonical, bench's seeded ones, the same in every "
                   "backend; framework, those the framework's own layers draw (default: "
                   f"{d.init})")
    p.add_argument("--epsilon", type=float, help="the optimiser's epsilon (default: "
                   "Keras's, 1e-7, for adam and rmsprop)")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay,
                   help="decoupled weight decay: each update first multiplies every weight "
                   "by 1 - lr * DECAY (default: 0)")
    clip = p.add_mutually_exclusive_group()
    clip.add_argument("--clip", "--clip-norm", dest="clip", type=_clip_norm,
                      help=f"global gradient-norm clip, or none (default: {d.clip_norm:g}, "
                      "none with --clip-value)")
    clip.add_argument("--clip-value", type=float, help="clip every gradient element to "
                      "[-V, V] instead of clipping the norm")
    p.add_argument("--lr-schedule", default=d.lr_schedule, metavar="SCHEDULE",
                   help="constant; step:EVERY:FACTOR, the rate times FACTOR every EVERY "
                   "updates; cosine, from --lr down to 0 at the last step (default: constant)")


NO_CLIP = "none"


def _clip_norm(raw: str) -> float | str:
    """A number, or :data:`NO_CLIP`."""
    if raw.strip().lower() == NO_CLIP:
        return NO_CLIP
    try:
        return float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number or {NO_CLIP}, "
                                         f"got {raw!r}") from None


def clip_norm(args: argparse.Namespace) -> float | None:
    """--clip as given; else the default norm clip, unless --clip-value clips instead."""
    if args.clip == NO_CLIP or (args.clip is None and args.clip_value is not None):
        return None
    return RunSpec.clip_norm if args.clip is None else args.clip


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """``bench run`` arguments, parsed as the command line would be (for suite entries)."""
    parser = Parser(prog="bench run")
    add_arguments(parser)
    return parser.parse_args(argv)


def _comma_list(raw: str) -> list[str]:
    items = [item.strip() for item in raw.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"empty name in {raw!r}")
    return items


MAX_THREADS = 1024
"""More threads than any CPU bench runs on has (100,000 made OpenMP fail to start them and
the process die, leaving its claim behind)."""


def _threads(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of threads from 1 to {MAX_THREADS}, got {raw!r}")
    return value


def _int_list(raw: str, what: str = "lengths") -> list[int]:
    try:
        values = [int(item) for item in raw.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid {what} {raw!r}: expected comma-separated integers, e.g. 0,1,2"
        ) from None
    return given_once(values, lambda value: f"{what.removesuffix('s')} {value}")


def _seed_list(raw: str) -> list[int]:
    seeds = _int_list(raw, "seeds")
    if any(not 0 <= seed <= MAX_SEED for seed in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be in [0, {MAX_SEED}], got {raw!r}")
    return seeds


MAX_TIMEOUT_S = 365 * 86_400.0
"""The longest --timeout: a year (the OS timer that enforces it overflows past ~2**31 s)."""


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT_S):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds up to "
                                         f"{MAX_TIMEOUT_S:g} (a year), got {raw!r}")
    return value


def _out_dir(raw: str) -> str:
    if not raw.strip():
        raise argparse.ArgumentTypeError("must name a directory, got an empty string")
    return raw


def _task_param_grid(args) -> list[dict]:
    """One dict of raw task parameters per swept length (a single one without a sweep)."""
    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param expects KEY=VALUE, got {item!r}")
        if key in params:
            raise UsageError(f"--param {key} is given twice ({params[key]!r} and {value!r}); "
                             "give it once")
        params[key] = value
    if "length" in params and (args.length is not None or args.lengths):
        option = "--length" if args.length is not None else "--lengths"
        raise UsageError(f"--param length={params['length']} and {option} both set the length;"
                         f" give only {option}")
    if args.length is not None:
        params["length"] = args.length
    return [{**params, "length": length} for length in args.lengths or []] or [params]


def build_specs(args, registry, search: bool = False) -> list[RunSpec]:
    """Every run asked for (cells × lengths × seeds), each validated before any starts; for
    a length ``search``, at the length it starts from (the task's default length may need
    more memory than the machine has, where the search's first lengths do not)."""
    task = registry.task(args.task)
    given = "--length" if args.length is not None else "--lengths" if args.lengths else None
    if given and LENGTH_PARAMETER not in task.defaults():
        raise UsageError(f"{given}: task {task.name!r} has no length (its parameters: "
                         f"{', '.join(task.defaults()) or 'none'})")
    grid = [task.resolve_params(raw) for raw in _task_param_grid(args)]
    options = {name: value for name, value in
               (("dropout", args.dropout), ("recurrent_dropout", args.recurrent_dropout)) if value}
    cells = given_once([cell.qualified_name for name in args.cells  # rnn,torch:rnn: twice
                        for cell in registry.resolve_cells([name], backend=args.backend)])
    specs = [
        RunSpec(task=task.name, cell=cell, task_params=params, options=options,
                hidden=args.hidden, batch=args.batch, optimizer=args.optimizer, lr=args.lr,
                clip_norm=clip_norm(args), steps=args.steps, eval_every=args.eval_every,
                eval_size=args.eval_size, seed=seed, device=args.device,
                stop_when_solved=not args.no_early_stop, kernel=args.kernel, init=args.init,
                epsilon=args.epsilon, weight_decay=args.weight_decay,
                clip_value=args.clip_value, lr_schedule=args.lr_schedule)
        for cell in cells for params in grid for seed in args.seeds
    ]
    start = first_length(specs[0], registry) if search and specs else None
    for spec in specs:
        validate(spec if start is None else at_length(spec, start), registry)
    return specs


def requested_specs(args, registry) -> list[RunSpec]:
    """The runs of --suite, or of --task and --cells."""
    if args.suite:
        specs = []
        for entry in suite_runs(args, parse_arguments):
            with entry.naming_errors():
                specs += requested_specs(entry.args, registry)
        return list({spec.run_id: spec for spec in specs}.values())
    missing = [name for name in ("task", "cells") if getattr(args, name) is None]
    if missing:
        raise UsageError("the following arguments are required: "
                         f"{', '.join('--' + name for name in missing)} (or --suite)",
                         command="bench run")
    return build_specs(args, registry, search=searches_length(args, registry))


def searches_length(args, registry) -> bool:
    """Whether to search the length: a task with one, and no length given."""
    given = args.length is not None or args.lengths or any(
        item.partition("=")[0] == LENGTH_PARAMETER for item in args.param)
    return not (args.suite or given) and LENGTH_PARAMETER in registry.task(args.task).defaults()


def records_line(out_dir: Path, records: list[RunRecord], started: float) -> str:
    """Where the records are, how many, and how long the command took (its wall time, from
    ``started``, a ``time.monotonic()``)."""
    return (f"records in {out_dir}/ ({plural(len(records), 'run')}; took "
            f"{duration(time.monotonic() - started)})")


def execute_command(args) -> int:
    started = time.monotonic()
    host = default_host()
    warn_plugin_errors(host)
    specs = requested_specs(args, host.registry)
    searching = searches_length(args, host.registry)
    for option, value in (("--budget", args.budget), ("--max-length", args.max_length)):
        if value is not None and not searching:
            raise UsageError(f"{option} sets the length search, which runs only for a task "
                             "with a length and without --length, --lengths and --suite")
    searches = (plan_searches(specs, host.registry, args.budget, args.max_length)
                if searching else [])
    out_dir = Path(args.out)
    executor = open_executor(args, host.registry, _executor_name(args, searches), out_dir)
    failed_reruns: list[RunRecord] = []
    if searching:
        shared = _KeepOpen(executor)  # every round of the search runs on the same workers
        try:
            search_lengths(searches, lambda todo: run_all(todo, out_dir, shared, args.force,
                                                          failed_reruns))
        finally:
            executor.close()
        records = [r for search in searches for r in search.records]
    else:
        records = run_all(specs, out_dir, executor, args.force, failed_reruns)
    memories = memory_lengths(records) if searching or args.lengths else []
    stopped = {search.cell: search.stopped for search in searches}
    answers = memory_answers(memories, stopped) if searching else answer_lines(records)
    if args.json:
        print(json.dumps({"answers": answers,
                          "memory": [answer_json(m, stopped.get(m.cell)) for m in memories],
                          "records": [r.to_dict() for r in records]}, indent=1))
    else:
        if args.suite:
            for group in _by_setting(records):
                print_summary(group, memories=[], seeds=len({r.spec.seed for r in group}))
        else:
            print_summary(records, memories, seeds=len(args.seeds))
        for line in answers:  # the command's last words, one line per cell (and setting)
            stdout.print(line, markup=False, soft_wrap=True)
    stderr.print(records_line(out_dir, records, started), soft_wrap=True)
    return 1 if failed_reruns or any(r.status == "failed" for r in records) else 0


def open_executor(args, registry, name: str, out_dir: Path) -> Executor:
    """The executor ``name`` with the execution options of ``args``, once ``out_dir`` is
    known to be writable."""
    executor = registry.executor(name).factory(
        ExecutorOptions(args.workers, args.scheduler, args.timeout, args.threads))
    try:
        ensure_writable(out_dir)
    except BenchError:
        executor.close()
        raise
    return executor


def _executor_name(args, searches: list) -> str:
    """The chosen executor, else the process pool for the searches of several cells: each
    worker runs one cell's search on one thread, side by side (measured: docs/memory.md)."""
    if args.executor is not None:
        return args.executor
    return "process" if len(searches) > 1 else "local"


class _KeepOpen:
    """An executor that :func:`run_all` cannot close, for the rounds of a search."""

    def __init__(self, executor: Executor):
        self.executor = executor

    def run(self, specs, on_step=None):
        return self.executor.run(specs, on_step=on_step)

    def close(self) -> None:
        pass


def memory_answers(memories: list[MemoryLength], stopped: dict[str, str]) -> list[str]:
    """The answer of a length search, one line per cell: how far back it remembers, with the
    evidence and why its search stopped. Without a search the answer is
    :func:`harness.answer.answer_lines`, as ``bench report`` words it."""
    return [answer_line(memory) + (f" Search stopped: {stopped[memory.cell]}."
                                   if memory.cell in stopped else "")
            for memory in memories]


def _by_setting(records: list[RunRecord]) -> list[list[RunRecord]]:
    """A suite's records grouped by task and task parameters, one summary table each."""
    groups: dict[str, list[RunRecord]] = {}
    for r in records:
        groups.setdefault(json.dumps([r.spec.task, r.spec.task_params], sort_keys=True),
                          []).append(r)
    return list(groups.values())


def print_summary(records: list[RunRecord], memories: list[MemoryLength], seeds: int) -> None:
    """The runs' table, the spread over seeds, and the memory lengths of a length sweep or
    search (``memories``: empty when the length was fixed)."""
    spec = records[0].spec
    fixed = {k: v for k, v in spec.task_params.items() if not (memories and k == "length")}
    stdout.print(to_rich(summary_table(records, title=" ".join(
        [spec.task, *(f"{k}={v}" for k, v in fixed.items())]))))
    if seeds > 1:
        stdout.print(to_rich(seeds_table(summarise_cells(records), records)))
    if memories:
        stdout.print(to_rich(memory_table(memories, seeds)))


def run_all(specs: list[RunSpec], out_dir: Path, executor: Executor, force: bool,
            failed_reruns: list[RunRecord]) -> list[RunRecord]:
    """Run what is not yet recorded, writing each record as soon as it arrives; return the
    records as they are on disk. A forced rerun that fails keeps the earlier record there and
    here, and goes to ``failed_reruns``."""
    done: dict[str, RunRecord] = {}
    todo, elsewhere = [], []
    earlier: dict[str, RunRecord] = {}  # finished runs rerun by force
    titles = run_titles(specs)
    try:  # Ctrl-C while claiming ends the command as during the runs, its claims released
        for spec in specs:
            existing = _recorded(out_dir, spec)
            if existing is not None and not force:
                stderr.print(f"{titles[spec.run_id]}: already recorded, skipped",
                             soft_wrap=True)
                done[spec.run_id] = existing
            elif claims.take(out_dir, spec):
                todo.append(spec)
                if existing is not None:
                    earlier[spec.run_id] = existing
            else:
                stderr.print(f"{titles[spec.run_id]}: being run by another bench "
                             f"({claims.holder(out_dir, spec)}); its record will be used",
                             soft_wrap=True)
                elsewhere.append(spec)
        with stopping.graceful(), RunProgress(stderr, len(todo), titles) as progress:
            for written, record in enumerate(executor.run(todo, on_step=progress.step)):
                kept = earlier.get(record.run_id) if record.status == "failed" else None
                if kept is not None:
                    warn(f"{titles[record.run_id]}: the rerun {record.status_line}; the earlier "
                         "record is kept")
                    failed_reruns.append(record)
                else:
                    _write(out_dir, record, written)
                claims.release(out_dir, record.spec)
                done[record.run_id] = kept or record
                progress.finished(record)
            stopping.check()  # a stop asked for after the last run still ends the command
            for spec in elsewhere:
                done[spec.run_id] = claims.await_record(out_dir, spec) or failed_record(
                    spec, "another bench claimed this run and stopped without its record; "
                    "run again")
    except (KeyboardInterrupt, stopping.RunInterrupted):
        raise stopping.RunInterrupted(f"{out_dir}/") from None
    finally:
        executor.close()
        for spec in todo:
            claims.release(out_dir, spec)
    return [done[spec.run_id] for spec in specs]


def _recorded(out_dir: Path, spec: RunSpec) -> RunRecord | None:
    """The finished record of ``spec`` in ``out_dir``; a file in its place that cannot be
    read (truncated, not JSON, a newer schema) is renamed aside and named, never overwritten."""
    try:
        return existing_record(out_dir, spec)
    except UsageError as exc:
        kept = set_aside(record_path(out_dir, spec))
        warn(f"{exc}; kept it as {kept.name} and will run it again")
        return None


def _write(out_dir: Path, record: RunRecord, written: int) -> None:
    """Write one record; a failed write (a full disk) stops the sweep with exit 1, keeping
    the records already written."""
    try:
        write_record(out_dir, record)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BenchError(f"cannot write the record of {record.spec.title} to {str(out_dir)!r}: "
                         f"{reason}; stopped. The {plural(written, 'record')} this run wrote "
                         "before it are intact") from None
