"""CSV export: UTF-8 with a byte-order mark (so Excel shows Chinese), a header of column
labels, one line per row, formulas neutralised (see `cells.py`).

Only the table goes in: the title, parameters and generator belong to the download's file
name and the audit trail, so the file stays one rectangle a program can read back.
"""

from __future__ import annotations

import csv
import io

from renderers.exports.cells import neutralise, plain_text
from renderers.exports.table import ExportTable

BOM = "\ufeff"  # so Excel reads the CSV as UTF-8 and shows Chinese (as the list export does)
CSV_ROW_LIMIT = 100_000  # rows in one export, as the list export: a district, bounded


def to_csv(table: ExportTable) -> bytes:
    """The table as CSV bytes (at most `CSV_ROW_LIMIT` rows; the rest are left out).

    >>> from renderers.exports.table import ExportColumn, ExportTable
    >>> to_csv(ExportTable("t", [ExportColumn("城区")], [["芙蓉区"]])).decode("utf-8-sig")
    '城区\\r\\n芙蓉区\\r\\n'
    """
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([neutralise(column.label) for column in table.columns])
    formats = [column.format for column in table.columns]
    language = table.language
    for row in table.rows[:CSV_ROW_LIMIT]:
        writer.writerow([plain_text(v, f, language) for v, f in zip(row, formats, strict=True)])
    return out.getvalue().encode("utf-8")
