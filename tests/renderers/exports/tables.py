"""The export tables the exporter tests share, and an XLSX reader made of zipfile and
ElementTree (so the tests need no spreadsheet library)."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

from renderers.exports import ExportColumn, ExportTable

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
BUILTIN_FORMATS = {0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%"}
GENERATED_AT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
COLUMNS = [
    ExportColumn("城区"),
    ExportColumn("状态"),
    ExportColumn("房屋套数", "integer"),
    ExportColumn("平均面积", "number"),
    ExportColumn("欠费金额", "money"),
    ExportColumn("空置率", "percent"),
    ExportColumn("统计日", "date"),
]


def units_table(rows: int = 3, language: str = "zh", **overrides: Any) -> ExportTable:
    """A table shaped like the units-by-status report: Chinese labels, every format."""
    values = [
        [
            f"芙蓉区{n}",
            "空置" if n % 2 else "已出租",
            1200 + n,
            Decimal("56.25") + n,
            Decimal("1234.5") * (n + 1),
            0.125 + n / 1000,
            date(2026, 3, 1 + n % 28),
        ]
        for n in range(rows)
    ]
    given: dict[str, Any] = {
        "title": "房屋套数（按城区、状态）",
        "columns": COLUMNS,
        "rows": values,
        "subtitle": "截至日期：2026-11-21",
        "generated_at": GENERATED_AT,
        "generated_by": "admin",
        "language": language,
        **overrides,
    }
    return ExportTable(**given)


@dataclass(frozen=True)
class Cell:
    value: str  # the text, or the number as Excel stores it
    kind: str  # "s" (text) or "n" (number)
    number_format: str
    quote_prefix: bool
    bold: bool


@dataclass(frozen=True)
class Workbook:
    sheet_name: str
    cells: dict[str, Cell]
    frozen_rows: int
    widths: dict[int, float]  # 1-based column → width
    autofilter: str | None

    def row(self, number: int) -> list[str]:
        """The values of one row (1-based), left to right."""
        found = [(ref, c) for ref, c in self.cells.items() if _row_of(ref) == number]
        return [c.value for ref, c in sorted(found, key=lambda rc: _column_of(rc[0]))]


def read_xlsx(data: bytes) -> Workbook:
    """The first sheet of an XLSX file: cells with their formats, frozen rows, widths."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    name = workbook.find("m:sheets/m:sheet", NS)
    assert name is not None
    formats = dict(BUILTIN_FORMATS)
    for fmt in styles.iterfind("m:numFmts/m:numFmt", NS):
        formats[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
    bold_fonts = {
        i
        for i, font in enumerate(styles.iterfind("m:fonts/m:font", NS))
        if font.find("m:b", NS) is not None
    }
    xfs = list(styles.iterfind("m:cellXfs/m:xf", NS))
    cells = {}
    for c in sheet.iterfind("m:sheetData/m:row/m:c", NS):
        xf = xfs[int(c.get("s", "0"))]
        text = c.find("m:is/m:t", NS)
        number = c.find("m:v", NS)
        value = text.text if text is not None else number.text if number is not None else ""
        cells[c.get("r", "")] = Cell(
            value or "",
            "s" if c.get("t") == "inlineStr" else "n",
            formats[int(xf.get("numFmtId", "0"))],
            xf.get("quotePrefix") == "1",
            int(xf.get("fontId", "0")) in bold_fonts,
        )
    pane = sheet.find("m:sheetViews/m:sheetView/m:pane", NS)
    frozen = (
        int(float(pane.get("ySplit", "0")))
        if pane is not None and pane.get("state") == "frozen"
        else 0
    )
    widths = {}
    for col in sheet.iterfind("m:cols/m:col", NS):
        for index in range(int(col.get("min", "0")), int(col.get("max", "0")) + 1):
            widths[index] = float(col.get("width", "0"))
    autofilter = sheet.find("m:autoFilter", NS)
    return Workbook(
        name.get("name", ""),
        cells,
        frozen,
        widths,
        autofilter.get("ref") if autofilter is not None else None,
    )


def _row_of(ref: str) -> int:
    return int(re.sub(r"[A-Z]+", "", ref))


def _column_of(ref: str) -> int:
    letters = re.sub(r"\d+", "", ref)
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number
