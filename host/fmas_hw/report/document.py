"""The report as a document: sections of text, tables and images, rendered as Markdown or HTML.

Text paragraphs may hold Markdown inline code (`like this`); the HTML renderer turns it into
``<code>``. Images are file names relative to the report folder, so the folder can be moved or
zipped as a whole.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from .tables import Column, html_table, markdown_table

_CODE = re.compile(r"`([^`]+)`")
_STYLE = """body { font-family: sans-serif; margin: 2em; max-width: 90em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 48em; display: block; margin: 1em 0; } .note { color: #555; font-size: 0.9em; }"""


@dataclass
class Section:
    """One section of the report.

    Attributes:
        title: the heading.
        text: paragraphs before the table.
        columns / rows: the table (none when ``columns`` is empty).
        notes: paragraphs after the table (units, sources, definitions).
        images: ``(file name, alt text)`` of images, relative to the report folder.
        level: heading level (2 = a section, 3 = a subsection of the section before it).
    """

    title: str
    text: list[str] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)
    level: int = 2


def render_markdown(title: str, intro: list[str], sections: list[Section]) -> str:
    """The whole report as one Markdown document."""
    parts = [f"# {title}", *intro]
    for s in sections:
        parts.append(f"{'#' * s.level} {s.title}")
        parts.extend(s.text)
        if s.columns:
            parts.append(markdown_table(s.columns, s.rows))
        parts.extend(f"*{note}*" for note in s.notes)
        parts.extend(f"![{alt}]({name})" for name, alt in s.images)
    return "\n\n".join(parts) + "\n"


def render_html(title: str, intro: list[str], sections: list[Section]) -> str:
    """The whole report as one static HTML page (tables inline, PNG images by relative path)."""
    body = [f"<h1>{html.escape(title)}</h1>", *(_paragraph(p) for p in intro)]
    for s in sections:
        body.append(f"<h{s.level}>{html.escape(s.title)}</h{s.level}>")
        body.extend(_paragraph(p) for p in s.text)
        if s.columns:
            body.append(html_table(s.columns, s.rows))
        body.extend(_paragraph(n, "note") for n in s.notes)
        body.extend(f'<img src="{html.escape(name)}" alt="{html.escape(alt)}">' for name, alt in s.images)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>\n{_STYLE}\n</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _paragraph(text: str, css: str = "") -> str:
    inner = _CODE.sub(r"<code>\1</code>", html.escape(text))
    return f'<p class="{css}">{inner}</p>' if css else f"<p>{inner}</p>"
