"""The answer of a memory sweep or search, in words: one line per cell.

"torch:lstm remembers copy up to T=20 (recall_accuracy 0.21 vs chance 0.125, p < 0.001), not
at T=28; solves none of the 5 lengths tried (T=5-40), 1 seed each." The evidence quoted is
the memory test of :mod:`harness.memory` at that length (over seeds: the median headline, the
largest p of the seeds that carry the verdict, and how many remember where they disagree).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from harness.formatting import plural
from harness.memory import MIN_MARGIN, SIGNIFICANCE
from harness.records import RunRecord
from harness.sweep import (
    SOLVED_SHARE,
    LengthVerdict,
    MemoryLength,
    SeedsVerdict,
    SettingVerdict,
    memory_sweeps,
    setting_verdicts,
)
from harness.tasks import LENGTH_PARAMETER

MEMORY_RULE = (f"✓ remembers: above chance at p < {SIGNIFICANCE:g} by at least {MIN_MARGIN:g}; "
               f"a length counts as solved or remembered for a cell when at least "
               f"{SOLVED_SHARE:.0%} of its seeds did")


def p_text(p: float | None) -> str:
    if p is None:
        return "p unknown"
    if p > 0.99:  # .2g would round it to "p = 1"
        return "p > 0.99"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def evidence(found: MemoryLength | SettingVerdict, verdict: SeedsVerdict) -> str:
    """The headline against chance and the p-value; where the seeds disagree, how many
    remember, the p-value being theirs when the verdict is that the cell remembers."""
    headline = "-" if verdict.headline is None else f"{verdict.headline:.3g}"
    chance = "" if found.chance is None else f" vs chance {found.chance:.3g}"
    p = p_text(verdict.p_value)
    remembering = round(verdict.remembered_share * verdict.seeds)
    if 0 < remembering < verdict.seeds:
        verb = "remembers" if remembering == 1 else "remember"
        said = f"{remembering} of {verdict.seeds} seeds {verb}"
        p = f"{said}, {p}" if verdict.remembered else f"{p}; {said}"
    return f"{found.headline_name} {headline}{chance}, {p}"


NOT_RUN = "-"
"""A memory table's cell at a length where that cell was not run: each cell's search stops at
its own edge, so another cell may have been run at lengths it was not."""


def verdict_text(verdict: LengthVerdict) -> str:
    """One length in a table: its headline, marked when remembered or solved."""
    if verdict.headline is None:  # every seed failed before an evaluation
        return "failed"
    headline = f"{verdict.headline:.3g}"
    return "solved" if verdict.solved else f"{headline} ✓" if verdict.remembered else headline


def memory_rows(memories: Iterable[MemoryLength]) -> tuple[list[int], list[list[str]], str]:
    """A memory table's lengths (every length any cell was run at), its rows (a cell's
    headline at each length, then the longest it remembers and solves), and its legend."""
    memories = list(memories)
    lengths = sorted({length for memory in memories for length in memory.verdicts})
    rows = [[memory.label,
             *(NOT_RUN if (verdict := memory.verdicts.get(length)) is None
               else verdict_text(verdict) for length in lengths),
             *(str(verdict.length) if verdict else "none"
               for verdict in (memory.remembers_up_to, memory.solves_up_to))]
            for memory in memories]
    missing = any(len(memory.verdicts) < len(lengths) for memory in memories)
    legend = MEMORY_RULE + (f"; {NOT_RUN} not run at that length" if missing else "")
    return lengths, rows, legend


def _tried(memory: MemoryLength) -> str:
    """The lengths tried and the seeds at each: with one, a boundary at the edge of what a
    cell remembers can move with the seed (the main job's LSTM at T=40 remembered with 2 of
    4 seeds), which the p-value, over the held-out set of one trained model, does not say."""
    lengths = sorted(memory.verdicts)
    span = f"T={lengths[0]}" if len(lengths) == 1 else f"T={lengths[0]}-{lengths[-1]}"
    seeds = sorted({verdict.seeds for verdict in memory.verdicts.values()})
    count = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    return (f"{plural(len(lengths), 'length')} tried ({span}), "
            f"{count} seed{'s' if seeds[-1] > 1 else ''} each")


def answer_line(memory: MemoryLength) -> str:
    remembers, solves = memory.remembers_up_to, memory.solves_up_to
    if remembers is None:
        shortest = memory.verdicts[min(memory.verdicts)]
        if shortest.headline is None:
            return (f"{memory.label}: no answer on {memory.task}: no run at T={shortest.length} "
                    f"finished (see the table's status).")
        where = "at" if len(memory.verdicts) == 1 else "from"
        return (f"{memory.label}: no memory detected on {memory.task} {where} "
                f"T={shortest.length} ({evidence(memory, shortest)}); {_tried(memory)}.")
    longer = [length for length, v in memory.verdicts.items()
              if length > remembers.length and not v.remembered]
    limit = f", not at T={min(longer)}" if longer else ""
    solved = (f"solves up to T={solves.length}; {_tried(memory)}" if solves is not None
              else f"solves none of the {_tried(memory)}")
    return (f"{memory.label} remembers {memory.task} up to T={remembers.length} "
            f"({evidence(memory, remembers)}){limit}; {solved}.")


def setting_answer_line(found: SettingVerdict) -> str:
    """The answer of runs at one setting: whether the cell remembers there, or solves it."""
    verdict, length = found.verdict, found.task_params.get(LENGTH_PARAMETER)
    seeds = plural(verdict.seeds, "seed")
    at = found.task if length is None else f"{found.task} at T={length}"
    if verdict.headline is None:
        return f"{found.label}: no answer on {at}: no run finished (see the table's status)."
    if verdict.solved:
        said = f"{found.label} solves {at}"
    elif verdict.remembered:
        said = f"{found.label} remembers {at} without solving it"
    else:
        said = f"{found.label}: no memory detected on {at}"
    return f"{said} ({evidence(found, verdict)}); {seeds}."


def answer_lines(records: Iterable[RunRecord]) -> list[str]:
    """The answer of any set of runs, a line per cell and setting, as ``bench run`` ends: for
    each length sweep of two lengths or more, how far back the cell remembers
    (:func:`answer_line`); for the other runs (one length, or a task without one), what the
    cell did at that setting (:func:`setting_answer_line`)."""
    records = list(records)
    sweeps = [(memory, group) for memory, group in memory_sweeps(records)
              if len(memory.verdicts) > 1]
    swept = {id(record) for _, group in sweeps for record in group}
    return [*(answer_line(memory) for memory, _ in sweeps),
            *(setting_answer_line(found) for found in setting_verdicts(
                r for r in records if id(r) not in swept))]


def answer_json(memory: MemoryLength, search_stopped: str | None = None) -> dict[str, Any]:
    """The answer for ``--json``: both memory lengths, every length's verdict and, after a
    search, why it stopped."""
    remembers, solves = memory.remembers_up_to, memory.solves_up_to
    return {
        "cell": memory.cell, "task": memory.task, "headline": memory.headline_name,
        "chance": memory.chance,
        "remembers_up_to": remembers.length if remembers else None,
        "solves_up_to": solves.length if solves else None,
        "answer": answer_line(memory),
        "search_stopped": search_stopped,
        "lengths": [asdict(v) for _, v in sorted(memory.verdicts.items())],
    }
