"""Exports of tables as CSV, XLSX and PDF, and the download headers that go with them.

A caller (the reports API) builds an `ExportTable`, looks its format up in `EXPORTERS` and
sends the bytes with the exporter's content type and `content_disposition(filename)`:

    exporter = EXPORTERS["xlsx"]
    body = exporter.write(table)          # PDF: seconds for long tables; run it in a thread
    headers = {"Content-Disposition": content_disposition(f"房屋统计.{exporter.extension}")}
    if exporter.truncates(table):
        headers["X-Anju-Export-Limit"] = str(exporter.row_limit)

Each exporter writes at most its `row_limit` rows (`rows_written(table)` says how many, for
the audit trail). See docs/exports.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from renderers.exports.csv import CSV_ROW_LIMIT, to_csv
from renderers.exports.pdf import PDF_ROW_LIMIT, to_pdf
from renderers.exports.table import ExportColumn, ExportTable
from renderers.exports.xlsx import XLSX_ROW_LIMIT, to_xlsx

__all__ = [
    "CONTENT_TYPES",
    "EXPORTERS",
    "ExportColumn",
    "ExportTable",
    "Exporter",
    "content_disposition",
    "download_name",
    "to_csv",
    "to_pdf",
    "to_xlsx",
]

UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]')
EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")
FILENAME_LIMIT = 120  # characters before the extension


@dataclass(frozen=True)
class Exporter:
    """One export format: how to write it, what to call it, how many rows it holds."""

    format: str
    content_type: str
    extension: str
    row_limit: int
    write: Callable[[ExportTable], bytes]

    def rows_written(self, table: ExportTable) -> int:
        """How many of the table's rows the file holds."""
        return min(len(table.rows), self.row_limit)

    def truncates(self, table: ExportTable) -> bool:
        """Whether rows after `row_limit` are left out of the file."""
        return len(table.rows) > self.row_limit


EXPORTERS: dict[str, Exporter] = {
    "csv": Exporter("csv", "text/csv; charset=utf-8", "csv", CSV_ROW_LIMIT, to_csv),
    "xlsx": Exporter(
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
        XLSX_ROW_LIMIT,
        to_xlsx,
    ),
    "pdf": Exporter("pdf", "application/pdf", "pdf", PDF_ROW_LIMIT, to_pdf),
}
CONTENT_TYPES: dict[str, str] = {name: e.content_type for name, e in EXPORTERS.items()}


def download_name(title: str, extension: str, stamp: str = "") -> str:
    """A file name from a report's title: unsafe characters replaced, at most 120 characters,
    an optional stamp (`20261121-1000`) and the extension.

    >>> download_name("房屋套数/城区", "xlsx", "20261121")
    '房屋套数_城区-20261121.xlsx'
    """
    name = UNSAFE_IN_FILENAME.sub("_", unicodedata.normalize("NFC", title)).strip(" .")
    name = name[:FILENAME_LIMIT] or "export"
    return f"{name}-{stamp}.{extension}" if stamp else f"{name}.{extension}"


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """The `Content-Disposition` value for a download named `filename`: an ASCII fallback
    for old clients plus the UTF-8 name (RFC 6266 / RFC 5987), so `房屋统计.xlsx` saves
    under its Chinese name.

    >>> content_disposition("统计.csv")
    'attachment; filename="export.csv"; filename*=UTF-8\\'\\'%E7%BB%9F%E8%AE%A1.csv'
    """
    name = UNSAFE_IN_FILENAME.sub("_", filename).strip(" .") or "export"
    extension = match.group(0) if (match := EXTENSION.search(name)) else ""
    stem = name[: len(name) - len(extension)]
    fallback = re.sub(r"[^A-Za-z0-9.-]+", "_", stem).strip("_.-") or "export"
    fallback += extension
    if fallback == name:
        return f'{disposition}; filename="{name}"'
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
