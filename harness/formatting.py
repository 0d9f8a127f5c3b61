"""Number formatting shared by every rendering (terminal, HTML, Markdown); no other imports,
so rendering a comparison or a report loads nothing of the plugin machinery."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"
