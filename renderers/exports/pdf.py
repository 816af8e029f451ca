"""PDF export: the table as an autoescaped HTML page (A4 landscape) drawn by WeasyPrint
through `engine.pdf.html_to_pdf`, with the CJK font Debian's fonts-noto-cjk installs.

The first page carries the title, the parameters (subtitle) and who generated it when; every
page repeats the table header, the title (from page 2), the generated line and
`第 n 页 / 共 m 页` (`Page n of m` in English). WeasyPrint lays out a few hundred rows a
second, so a PDF holds at most `PDF_ROW_LIMIT` rows: larger results belong in XLSX or CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from engine.pdf import CJK_FONT_FAMILY, html_to_pdf
from renderers.exports.cells import display_text, text_width
from renderers.exports.table import ExportTable
from renderers.exports.texts import PAGE_NUMBERS, generated_line, texts_of, truncated_line

PDF_ROW_LIMIT = 2_000  # about 60 pages and some seconds of layout; more goes to XLSX/CSV
TEMPLATES = Path(__file__).with_name("templates")
WIDEST_SHARE = 40  # a column's content counts up to this many characters when sharing width


@dataclass(frozen=True)
class PdfColumn:
    label: str
    numeric: bool
    width: float  # percent of the table's width


@dataclass(frozen=True)
class PdfPage:
    """The view model of `templates/table.html`: every value already display text."""

    language: str
    title: str
    subtitle: str
    generated: str
    truncated: str
    empty: str
    columns: list[PdfColumn]
    rows: list[list[str]]
    font_family: Markup
    page_numbers: Markup


def to_pdf(table: ExportTable) -> bytes:
    """The table as PDF bytes; `engine.pdf.PdfUnavailable` (503) without WeasyPrint/Pango."""
    return html_to_pdf(table_html(table))


def table_html(table: ExportTable) -> str:
    """The HTML page `to_pdf` draws (autoescaped: titles and cells are text, never markup)."""
    return _environment().get_template("table.html").render(page=pdf_page(table))


def pdf_page(table: ExportTable) -> PdfPage:
    """The table's cells as display text (`1,200`, `¥1,234.50`, `12.5%`) and its columns'
    widths in proportion to their contents."""
    language = table.language if table.language in PAGE_NUMBERS else "zh"
    texts = texts_of(language)
    formats = [column.format for column in table.columns]
    rows = [
        [display_text(v, f, language) for v, f in zip(row, formats, strict=True)]
        for row in table.rows[:PDF_ROW_LIMIT]
    ]
    truncated = len(table.rows) > PDF_ROW_LIMIT
    return PdfPage(
        language=language,
        title=table.title,
        subtitle=table.subtitle,
        generated=generated_line(table),
        truncated=truncated_line(language, PDF_ROW_LIMIT) if truncated else "",
        empty=texts["empty"],
        columns=_columns(table, rows),
        rows=rows,
        font_family=Markup(CJK_FONT_FAMILY),  # constants, not user input: CSS needs quotes
        page_numbers=Markup(PAGE_NUMBERS[language]),
    )


def _columns(table: ExportTable, rows: list[list[str]]) -> list[PdfColumn]:
    needs = [text_width(column.label) for column in table.columns]
    for row in rows:
        for index, cell in enumerate(row):
            needs[index] = max(needs[index], text_width(cell))
    shares = [min(max(need, 4), WIDEST_SHARE) for need in needs]
    total = sum(shares)
    return [
        PdfColumn(column.label, column.numeric, round(100 * share / total, 2))
        for column, share in zip(table.columns, shares, strict=True)
    ]


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
