"""The report as one self-contained HTML page: inline CSS, figures as base64 PNG, no scripts."""

from __future__ import annotations

import base64
import re
from html import escape

from harness.formatting import plural
from harness.render.html import CSS as TABLE_CSS
from harness.render.html import html_table, html_table_body

from .figures import Plot
from .page import Report, Section

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
       margin: 0; background: #f6f7f9; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 40px 0 8px; padding-top: 12px; border-top: 2px solid #d0d7de; }
h3 { font-size: 16px; margin: 24px 0 6px; }
p.meta, p.caption, figcaption { color: #57606a; font-size: 13.5px; }
nav ul { margin: 4px 0; padding-left: 20px; }
dl.glossary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px;
              font-size: 13.5px; margin: 8px 0; }
dl.glossary dt { font-weight: 600; }
dl.glossary dd { margin: 0; color: #3b434b; }
figure { margin: 20px 0; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid #e4e7eb; }
figcaption { max-width: 900px; margin-top: 6px; }
details > summary { cursor: pointer; font-weight: 600; font-size: 16px; margin: 24px 0 6px; }
"""

GLOSSARY = [
    ("loss ÷ baseline", "held-out loss divided by the loss of the best predictor that "
     "remembers nothing; below 1 the cell remembers something, near 0 it has solved the task"),
    ("solved", "the task's own criterion, reached at a held-out evaluation"),
    ("memory length", "the longest task length T that at least half of the seeds solved"),
    ("chance level", "the headline metric of random guessing"),
    ("gradient reach", "how far back in the input the gradient of the loss is still felt"),
]


def _anchor(task: str) -> str:
    return "task-" + re.sub(r"[^a-z0-9]+", "-", task.lower()).strip("-")


def _figure(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" width="{plot.width}" '
            f'alt="{escape(plot.title)}. {escape(plot.description)}">'
            f"<figcaption><strong>{escape(plot.title)}.</strong> "
            f"{escape(plot.description)}</figcaption></figure>")


def _section(section: Section) -> str:
    *summaries, runs = section.tables
    return "\n".join([
        f'<section id="{_anchor(section.task)}"><h2>Task: {escape(section.task)}</h2>',
        f'<p class="meta">{escape(section.overview)}</p>',
        *(html_table(table) for table in summaries),
        *(_figure(plot) for plot in section.figures),
        f"<details open><summary>{escape(runs.title)} ({plural(len(runs.rows), 'run')})</summary>"
        f"{html_table_body(runs)}</details>",
        "</section>",
    ])


def render_html(report: Report) -> str:
    toc = "".join(f'<li><a href="#{_anchor(s.task)}">Task: {escape(s.task)}</a></li>'
                  for s in report.sections)
    glossary = "".join(f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>"
                       for term, text in GLOSSARY)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>bench report: {escape(str(report.source))}</title>",
        f"<style>{CSS}{TABLE_CSS}</style></head><body><main>",
        "<h1>bench report</h1>",
        f'<p class="meta">Results from <code>{escape(str(report.source))}</code>, '
        f"generated {escape(report.generated)}. {escape(report.overview)}</p>",
        *(['<section id="answer"><h2>What each cell remembers</h2><ul>',
           *(f"<li>{escape(line)}</li>" for line in report.answers), "</ul></section>"]
          if report.answers else []),
        *([f'<section id="published">{html_table(report.published, heading="h2")}</section>']
          if report.published else []),
        f'<nav><ul>{toc}<li><a href="#environment">Environment</a></li>'
        f'<li><a href="#skipped">Skipped files</a></li></ul></nav>',
        f'<dl class="glossary">{glossary}</dl>',
        *(_section(section) for section in report.sections),
        f'<section id="environment">{html_table(report.environment, heading="h2")}</section>',
        f'<section id="skipped">{html_table(report.skipped, heading="h2")}</section>',
        "</main></body></html>",
        "",
    ])
