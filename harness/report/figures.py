"""The report's figures: matplotlib drawn on the Agg canvas into PNG bytes.

Figures are ``matplotlib.figure.Figure`` objects given an Agg canvas directly, never made
through pyplot: no backend is switched and no figure stays registered anywhere, and style
settings apply only inside ``rc_context``, so other code in the process is left as it was.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from harness.records import RunRecord
from harness.sweep import MemoryLength, memory_sweeps, setting_labels
from harness.tables import headline_label

from .groups import by_cell, by_setting

DPI = 150
CSS_PX_PER_INCH = 100
"""Images are shown at 2/3 of their pixel size, so they stay sharp on high-density screens."""
PANEL = (4.4, 3.0)
"""Width and height of one panel, in inches."""
MAX_COLUMNS = 3
STYLE = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 9,
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
    "axes.spines.right": False, "figure.facecolor": "white",
}
BASELINE = {"color": "0.25", "linestyle": "--", "linewidth": 1.2}
THRESHOLD = {"color": "0.25", "linestyle": ":", "linewidth": 1.4}
CLIP = {"color": "tab:red", "linestyle": "--", "linewidth": 1.2}
REMEMBERS = {"color": "0.4", "linestyle": "-.", "linewidth": 1.2}
SOLVES = {"color": "0.4", "linestyle": ":", "linewidth": 1.6}
BELOW_THRESHOLD = 1e-3
"""Gradient profiles are cut off this far below the reach threshold: a vanished gradient
(1e-40 and less for a plain RNN) would otherwise squash the interesting part of the plot."""


@dataclass(frozen=True)
class Plot:
    """A rendered figure with the words a page needs around it."""

    title: str
    description: str
    """How to read it: the image's alt text and caption."""
    png: bytes
    width: int
    """Display width in CSS pixels."""


Colours = dict[str, tuple[float, float, float]]


def cell_colours(cells: Iterable[str]) -> Colours:
    """One colour per cell, the same in every figure of the report."""
    names = sorted(set(cells))
    palette = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"].colors
    return {cell: palette[i % len(palette)] for i, cell in enumerate(names)}


def task_figures(task: str, records: Sequence[RunRecord], colours: Colours) -> list[Plot]:
    """Every figure the task's records have data for, in reading order."""
    makers: list[Callable[[str, Sequence[RunRecord], Colours], Plot | None]] = [
        learning_curves, memory_curves, gradient_profiles, speed_bars, grad_norm_ranges]
    with matplotlib.rc_context(STYLE):
        plots = [make(task, records, colours) for make in makers]
    return [plot for plot in plots if plot is not None]


def _render(fig: Figure, title: str, description: str) -> Plot:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return Plot(title, description, buffer.getvalue(),
                round(fig.get_figwidth() * CSS_PX_PER_INCH))


def _panels(count: int) -> tuple[Figure, list[Axes]]:
    """A grid of ``count`` panels with room for a legend above and below them."""
    columns = min(count, MAX_COLUMNS)
    rows = math.ceil(count / columns)
    width, height = PANEL
    fig = Figure(figsize=(max(width * columns, 7.0), height * rows + 0.6), layout="constrained")
    axes = list(fig.subplots(rows, columns, squeeze=False).ravel())
    for spare in axes[count:]:
        fig.delaxes(spare)
    return fig, axes[:count]


def _legend(fig: Figure, handles: list, where: str) -> None:
    """A legend above or below the panels, in as few rows as the figure's width allows."""
    entry = max(0.6 + 0.075 * len(handle.get_label()) for handle in handles)  # inches
    columns = max(1, min(len(handles), int(fig.get_figwidth() // entry)))
    fig.legend(handles=handles, loc=f"outside {where} center", ncols=columns, frameon=False)


def _legends(fig: Figure, cells: Iterable[str], colours: Colours, keys: list) -> None:
    """Cells (colours) below the panels; what the line styles and marks mean above them."""
    _legend(fig, [Line2D([], [], color=colours[cell], linewidth=2, label=cell)
                  for cell in sorted(cells)], "lower")
    if keys:
        _legend(fig, keys, "upper")


class _PlainLogFormatter(ticker.LogFormatter):
    """LogFormatter's choice of ticks to label, written 0.01 rather than 1e-02 or 10⁻²."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def _plain_log(axis) -> None:
    """A log scale whose ticks are labelled as plain numbers, with labels between the powers
    of ten when the axis spans less than two decades."""
    axis.set_major_formatter(_PlainLogFormatter())
    axis.set_minor_formatter(_PlainLogFormatter(minor_thresholds=(2, 0.5)))


def _finite(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _spread(values: Sequence[float]) -> tuple[float, float, float]:
    return float(np.median(values)), min(values), max(values)


def learning_curves(task: str, records: Sequence[RunRecord], colours: Colours) -> Plot | None:
    settings = {label: group for label, group in by_setting(records).items()
                if any(r.accuracy and r.accuracy.curve for r in group)}
    if not settings:
        return None
    fig, axes = _panels(len(settings))
    cells: set[str] = set()
    named = setting_labels(records)
    for ax, (label, group) in zip(axes, settings.items(), strict=True):
        for cell, runs in by_cell(group, named).items():
            by_step: dict[int, list[float]] = defaultdict(list)
            for run in runs:
                for point in run.accuracy.curve if run.accuracy else []:
                    if math.isfinite(point.loss_ratio) and point.loss_ratio > 0:
                        by_step[point.step].append(point.loss_ratio)
            if not by_step:
                continue
            cells.add(cell)
            steps = sorted(by_step)
            median, low, high = np.array([_spread(by_step[s]) for s in steps]).T
            ax.fill_between(steps, low, high, color=colours[cell], alpha=0.2, linewidth=0)
            ax.plot(steps, median, color=colours[cell], linewidth=2, marker=".")
        ax.axhline(1.0, **BASELINE)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.set_yscale("log")
        _plain_log(ax.yaxis)
        ax.set(title=label, xlabel="training step", ylabel="eval loss ÷ baseline loss")
    if not cells:
        return None
    _legends(fig, cells, colours, [
        Line2D([], [], color="0.4", linewidth=2, label="median over seeds"),
        Patch(color="0.5", alpha=0.3, label="min–max over seeds"),
        Line2D([], [], **BASELINE, label="1 = memoryless baseline")])
    return _render(
        fig, f"Learning curves — {task}",
        "Held-out loss divided by the loss of the best memoryless predictor, against training "
        "steps (log scale). Lines: median over seeds; bands: min–max over seeds. Below the "
        "dashed line at 1 a cell remembers something; far below it, it has solved the task.")


def memory_curves(task: str, records: Sequence[RunRecord], colours: Colours) -> Plot | None:
    lengths = {r.spec.task_params.get("length") for r in records} - {None}
    runs = [r for r in records if r.spec.task_params.get("length") is not None and r.accuracy]
    if len(lengths) < 2 or not runs:
        return None
    headline = headline_label(records)
    chance = runs[0].accuracy.chance
    fig = Figure(figsize=(7.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    values: list[float] = []
    cells: set[str] = set()
    for memory, group in sorted(memory_sweeps(records), key=lambda sweep: sweep[0].label):
        cell = memory.label
        by_length: dict[int, list[float]] = defaultdict(list)
        for run in (r for r in group if r.accuracy):
            by_length[int(run.spec.task_params["length"])].extend(_finite([run.accuracy.headline]))
        points = sorted((length, _spread(v)) for length, v in by_length.items() if v)
        if not points:
            continue
        cells.add(cell)
        xs = [length for length, _ in points]
        median, low, high = np.array([spread for _, spread in points]).T
        values += [*low, *high]
        ax.errorbar(xs, median, yerr=[median - low, high - median], color=colours[cell],
                    linewidth=2, capsize=3)
        remembered = [memory.verdicts[x].remembered for x in xs]
        ax.scatter(xs, median, s=36, zorder=3, edgecolors=colours[cell], linewidths=1.5,
                   facecolors=[colours[cell] if r else "white" for r in remembered])
        _boundaries(ax, memory, colours[cell])
    if not cells:
        return None
    ax.axhline(chance, **BASELINE)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(lengths), [str(length) for length in sorted(lengths)])
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    if 0 <= min(values) and max(values) <= 1:
        ax.set_ylim(-0.03, 1.03)
    ax.set(xlabel="task length T (time steps the cell must remember across)",
           ylabel=f"{headline} (final evaluation)")
    _legends(fig, cells, colours, [
        Line2D([], [], color="0.4", linewidth=2, marker="o", label="median over seeds"),
        Line2D([], [], color="0.4", marker="|", markersize=10, linestyle="",
               label="min–max over seeds"),
        Line2D([], [], **BASELINE, label=f"chance level ({chance:.3g})"),
        Line2D([], [], color="0.4", marker="o", markerfacecolor="white", linestyle="",
               label="not remembered"),
        Line2D([], [], **REMEMBERS, label="remembers up to"),
        Line2D([], [], **SOLVES, label="solves up to")])
    return _render(
        fig, f"Memory length — {task}",
        f"Final {headline} against the task length T: median over seeds, error bars min–max; "
        f"a filled point is a length the cell remembers (above chance, p < 0.01), an open one "
        f"a length it does not. The dashed line is chance level; each cell's dash-dotted line "
        f"marks the longest length it remembers, its dotted line the longest it solves.")


def _boundaries(ax: Axes, memory: MemoryLength, colour) -> None:
    """A cell's two memory lengths as vertical lines in its colour."""
    for verdict, style in ((memory.remembers_up_to, REMEMBERS), (memory.solves_up_to, SOLVES)):
        if verdict is not None:
            ax.axvline(verdict.length, **{**style, "color": colour})


def _normalised(profiles: list[list[float]]) -> np.ndarray | None:
    """Median over seeds of each profile divided by its own maximum (zeros hidden)."""
    usable = [np.asarray(p, dtype=float) for p in profiles if p and max(p) > 0]
    if not usable:
        return None
    size = min(len(p) for p in usable)
    stacked = np.stack([p[:size] / p.max() for p in usable])
    return np.median(np.where(stacked > 0, stacked, np.nan), axis=0)


def gradient_profiles(task: str, records: Sequence[RunRecord], colours: Colours) -> Plot | None:
    profiled = [r for r in records if r.stability and r.stability.gradient_profile]
    if not profiled:
        return None
    settings = by_setting(profiled)
    fraction = profiled[0].stability.gradient_profile.fraction
    fig, axes = _panels(len(settings))
    cells: set[str] = set()
    named = setting_labels(records)
    for ax, (label, group) in zip(axes, settings.items(), strict=True):
        for cell, runs in by_cell(group, named).items():
            profiles = [r.stability.gradient_profile for r in runs]
            for values, style in ((_normalised([p.initial for p in profiles]), "--"),
                                  (_normalised([p.final for p in profiles]), "-")):
                if values is not None:
                    cells.add(cell)
                    ax.plot(np.arange(values.size), values, color=colours[cell],
                            linestyle=style, linewidth=1.8)
        ax.axhline(fraction, **THRESHOLD)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.set_yscale("log")
        ax.set_ylim(max(ax.get_ylim()[0], fraction * BELOW_THRESHOLD), 1.5)  # data <= 1
        _plain_log(ax.yaxis)
        # Spanning at least the two decades down to the threshold, the axis labels no minor
        # ticks; unlabelled, they only cost time (a third of this figure's).
        ax.yaxis.set_minor_locator(ticker.NullLocator())
        ax.set(title=label, xlabel="lag (input steps before the last one)",
               ylabel=r"$\Vert\partial L/\partial x_t\Vert$ ÷ its maximum")
    if not cells:
        return None
    _legends(fig, cells, colours, [
        Line2D([], [], color="0.4", linestyle="--", label="at initialisation"),
        Line2D([], [], color="0.4", label="after training"),
        Line2D([], [], **THRESHOLD, label=f"reach threshold ({fraction:g} of max)")])
    return _render(
        fig, f"Gradient reach — {task}",
        "How strongly the loss's gradient reaches each earlier input: ‖∂L/∂x_t‖ against lag "
        "(0 = last input step), divided by its maximum, median over seeds, log scale. Dashed: "
        "at initialisation; solid: after training. The gradient reaches back as far as the "
        f"curve stays above the dotted threshold; the plot stops {1 / BELOW_THRESHOLD:g}× "
        "below it.")


def speed_bars(task: str, records: Sequence[RunRecord], colours: Colours) -> Plot | None:
    timed = [r for r in records if r.speed and r.speed.step_ms_median is not None]
    if not timed:
        return None
    settings = by_setting(timed)
    named = setting_labels(records)
    cells = sorted({named[r.spec.run_id] for r in timed})
    width = 0.8 / len(cells)
    fig = Figure(figsize=(max(7.0, 1.2 * len(settings) * len(cells) + 2), 3.6),
                 layout="constrained")
    measures = (("ms per training step (median)", lambda s: s.step_ms_median),
                ("training tokens per second", lambda s: s.tokens_per_second))
    for ax, (ylabel, measure) in zip(fig.subplots(1, 2), measures, strict=True):
        for i, cell in enumerate(cells):
            xs, median, low, high = [], [], [], []
            for x, group in enumerate(settings.values()):
                values = _finite(measure(r.speed) for r in group if named[r.spec.run_id] == cell)
                if values:
                    m, lo, hi = _spread(values)
                    xs.append(x + (i - (len(cells) - 1) / 2) * width)
                    median.append(m)
                    low.append(m - lo)
                    high.append(hi - m)
            ax.bar(xs, median, width, yerr=[low, high], capsize=3, color=colours[cell])
        ax.set_xticks(range(len(settings)), list(settings), rotation=30 if len(settings) > 4
                      else 0)
        ax.set(ylabel=ylabel, xlabel="task setting")
        ax.grid(axis="x", visible=False)
    _legends(fig, cells, colours, [])
    return _render(
        fig, f"Speed — {task}",
        "Training speed per cell and task setting: median over seeds, error bars min–max. "
        "Left: milliseconds per training step (lower is faster); right: input tokens "
        "processed per second of training (higher is faster).")


def grad_norm_ranges(task: str, records: Sequence[RunRecord], colours: Colours) -> Plot | None:
    rows = []
    named = setting_labels(records)
    for label, group in by_setting(records).items():
        for cell, runs in by_cell(group, named).items():
            stats = [r.stability for r in runs if r.stability]
            median = _finite(s.grad_norm_median for s in stats)
            p99 = _finite(s.grad_norm_p99 for s in stats)
            peak = _finite(s.grad_norm_max for s in stats)
            if median and p99 and peak:
                rows.append((f"{cell}  {label}", cell, float(np.median(median)),
                             float(np.median(p99)), max(peak)))
    if not rows:
        return None
    fig = Figure(figsize=(7.0, 1.4 + 0.32 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    for y, (_, cell, median, p99, peak) in enumerate(rows):
        ax.plot([median, peak], [y, y], color=colours[cell], linewidth=2.5, alpha=0.5)
        for value, marker in ((median, "o"), (p99, "D"), (peak, "^")):
            ax.plot(value, y, marker=marker, color=colours[cell], markersize=6)
    clips = sorted({r.spec.clip_norm for r in records} - {None})
    for clip in clips:
        ax.axvline(clip, **CLIP)
    ax.set_yticks(range(len(rows)), [row[0] for row in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first row on top, half a row of space around each
    ax.set_xscale("log")
    _plain_log(ax.xaxis)
    ax.set_xlabel("global gradient norm before clipping (log scale)")
    ax.grid(axis="y", visible=False)
    _legend(fig, [
        Line2D([], [], color="0.4", marker="o", linestyle="", label="median step"),
        Line2D([], [], color="0.4", marker="D", linestyle="", label="99th percentile"),
        Line2D([], [], color="0.4", marker="^", linestyle="", label="largest"),
        *([Line2D([], [], **CLIP, label=f"clip norm ({', '.join(f'{c:g}' for c in clips)})")]
          if clips else []),
    ], "upper")
    return _render(
        fig, f"Gradient norms — {task}",
        "Distribution of the global gradient norm over training steps, before clipping, per "
        "cell and task setting: median step (circle, median over seeds), 99th percentile "
        "(diamond, median over seeds) and largest (triangle, over all seeds). Steps right of "
        "the red clip norm were scaled down; a largest far to the right warns of exploding "
        "gradients.")
