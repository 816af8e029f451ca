"""XLSX export with xlsxwriter in constant-memory mode: a title block, a bold header row that
stays in view (frozen panes, an autofilter), Excel number formats per column and real Excel
dates, column widths from the content (CJK characters counted double).

Numbers are written as numbers and text always as text (never as a formula); text a
spreadsheet would run as a formula carries Excel's quote prefix (see `cells.py`).
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from renderers.exports.cells import display_text, is_number, risky, text_width
from renderers.exports.table import ExportTable
from renderers.exports.texts import generated_line, truncated_line

XLSX_ROW_LIMIT = 100_000  # as the list export; far below Excel's 1,048,576
NUMBER_FORMATS = {
    "integer": "#,##0",
    "number": "#,##0.00",
    "money": "¥#,##0.00",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
}
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system (after its leap bug)
SHEET_NAME_LIMIT = 31  # Excel's limit, in characters
FORBIDDEN_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
MIN_WIDTH, MAX_WIDTH = 8, 60
WIDTH_SAMPLE = 1000  # rows measured for column widths: enough to see the data's shape
TEXT_STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 14},
    "note": {"font_color": "#555555"},
    "header": {"bold": True, "bg_color": "#E8EEF4", "bottom": 1, "text_wrap": True},
    "text": {},
}
WORKBOOK_OPTIONS = {
    "constant_memory": True,  # rows stream to a temporary file: 100,000 rows in little memory
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
}


def to_xlsx(table: ExportTable) -> bytes:
    """The table as an XLSX workbook of one sheet (at most `XLSX_ROW_LIMIT` rows)."""
    output = io.BytesIO()
    workbook = Workbook(output, WORKBOOK_OPTIONS)
    try:
        sheet = workbook.add_worksheet(sheet_name(table.title))
        _Writer(workbook, sheet, table).write()
    finally:
        workbook.close()
    return output.getvalue()


def sheet_name(title: str) -> str:
    """A sheet name Excel accepts: no `[]:*?/\\`, not starting or ending with an apostrophe,
    not `History`, at most 31 characters; `Sheet1` when nothing is left.

    >>> sheet_name("房屋套数 [按城区/状态]")
    '房屋套数 (按城区_状态)'
    """
    name = title.replace("[", "(").replace("]", ")")
    name = FORBIDDEN_IN_SHEET_NAME.sub("_", name).strip().strip("'").strip()
    name = name[:SHEET_NAME_LIMIT].strip().strip("'")
    if not name:
        return "Sheet1"
    return name + "_" if name.casefold() == "history" else name


def column_widths(table: ExportTable, rows: list[list[Any]]) -> list[int]:
    """Each column's width in Excel characters: its longest cell as displayed, plus a margin,
    between 8 and 60."""
    widths = [text_width(column.label) for column in table.columns]
    formats = [column.format for column in table.columns]
    for row in rows:
        for index, (value, format) in enumerate(zip(row, formats, strict=True)):
            width = text_width(display_text(value, format, table.language))
            if width > widths[index]:
                widths[index] = width
    return [min(max(width + 2, MIN_WIDTH), MAX_WIDTH) for width in widths]


class _Writer:
    """Writes one sheet top to bottom (constant-memory mode allows nothing else)."""

    def __init__(self, workbook: Workbook, sheet: Worksheet, table: ExportTable) -> None:
        self.sheet = sheet
        self.table = table
        self.rows = table.rows[:XLSX_ROW_LIMIT]
        self.styles: dict[tuple[str, bool], Format] = {}
        for name, style in TEXT_STYLES.items():
            for quoted in (False, True):  # Excel's quote prefix: risky text stays text
                self.styles[(name, quoted)] = workbook.add_format({**style, "quote_prefix": quoted})
        self.datetime = workbook.add_format({"num_format": DATETIME_FORMAT})
        self.by_format = {
            f: workbook.add_format({"num_format": n}) for f, n in NUMBER_FORMATS.items()
        }
        self.next_row = 0

    def write(self) -> None:
        table = self.table
        for index, width in enumerate(column_widths(table, self.rows[:WIDTH_SAMPLE])):
            self.sheet.set_column(index, index, width)
        self._line(table.title, "title")
        notes = [table.subtitle, generated_line(table)]
        if len(table.rows) > XLSX_ROW_LIMIT:
            notes.append(truncated_line(table.language, XLSX_ROW_LIMIT))
        for note in notes:
            if note:
                self._line(note, "note")
        self.next_row += 1  # a blank line between the title block and the table
        header_row = self.next_row
        for index, column in enumerate(table.columns):
            self._text(header_row, index, column.label, "header")
        self.next_row += 1
        for row in self.rows:
            for index, value in enumerate(row):
                self._cell(self.next_row, index, value, table.columns[index].format)
            self.next_row += 1
        self.sheet.freeze_panes(header_row + 1, 0)
        last = max(self.next_row - 1, header_row)
        self.sheet.autofilter(header_row, 0, last, len(table.columns) - 1)

    def _line(self, text: str, style: str) -> None:
        self._text(self.next_row, 0, text, style)
        self.next_row += 1

    def _cell(self, row: int, col: int, value: Any, format: str | None) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            self._text(row, col, display_text(value, format, self.table.language), "text")
        elif is_number(value):
            number_format = self.by_format.get(format or "")
            self.sheet.write_number(row, col, float(value), number_format)
        elif isinstance(value, datetime):
            self.sheet.write_number(row, col, excel_serial(value), self.datetime)
        elif isinstance(value, date):
            self.sheet.write_number(row, col, excel_serial(value), self.by_format["date"])
        elif format == "date" and (day := _iso_date(str(value))) is not None:
            self.sheet.write_number(row, col, excel_serial(day), self.by_format["date"])
        else:
            self._text(row, col, str(value), "text")

    def _text(self, row: int, col: int, text: str, style: str) -> None:
        self.sheet.write_string(row, col, text, self.styles[(style, risky(text))])


def excel_serial(moment: date) -> float:
    """A date or (zone-less local) datetime as Excel stores it: days since 1899-12-30, the
    time of day as a fraction. Cheaper than xlsxwriter's `write_datetime` for 100,000 rows.

    >>> excel_serial(date(2026, 11, 21)), excel_serial(datetime(2026, 11, 21, 12))
    (46347, 46347.5)
    """
    days = moment.toordinal() - EXCEL_EPOCH.toordinal()
    if not isinstance(moment, datetime):
        return days
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    return days + seconds / 86400


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None
