"""Number formatting shared by every rendering (terminal, HTML, Markdown); no other imports,
so rendering a comparison or a report loads nothing of the plugin machinery."""

from __future__ import annotations


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"
