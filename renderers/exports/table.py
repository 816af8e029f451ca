"""The one shape every exporter reads: a titled table of labelled columns and plain rows.

The reports API builds an `ExportTable` from a report result (labels translated, enum values
replaced by their labels, references by their titles) and hands it to `to_csv`, `to_xlsx` or
`to_pdf`; exporters never query anything.

    >>> from renderers.exports import to_csv
    >>> table = ExportTable(
    ...     title="房屋套数",
    ...     columns=[ExportColumn("城区"), ExportColumn("套数", "integer")],
    ...     rows=[["芙蓉区", 1200], ["天心区", 980]],
    ... )
    >>> to_csv(table)[:3] == b"\\xef\\xbb\\xbf"
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

ColumnFormat = Literal["number", "integer", "money", "percent", "date"]
COLUMN_FORMATS: tuple[str, ...] = ("number", "integer", "money", "percent", "date")
NUMERIC_FORMATS = frozenset({"number", "integer", "money", "percent"})


@dataclass(frozen=True)
class ExportColumn:
    """A column's heading and how its values read: `number` (two decimals), `integer`,
    `money` (yuan, two decimals), `percent` (a fraction: 0.125 is 12.5 %), `date`, or None
    for text."""

    label: str
    format: str | None = None

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in COLUMN_FORMATS:
            expected = ", ".join(COLUMN_FORMATS)
            raise ValueError(f"column {self.label!r}: format {self.format!r}, expected {expected}")

    @property
    def numeric(self) -> bool:
        """Whether the column holds numbers (right-aligned, number formats in Excel)."""
        return self.format in NUMERIC_FORMATS


@dataclass(frozen=True)
class ExportTable:
    """What an export shows: a title, the parameters it ran with (`subtitle`), when and by
    whom it was generated, the columns and one list of values per row (in column order; None
    for an empty cell). `language` (zh or en) picks the fixed texts such as page numbers."""

    title: str
    columns: list[ExportColumn]
    rows: list[list[Any]]
    subtitle: str = ""
    generated_at: datetime | None = None
    generated_by: str = ""
    language: str = "zh"

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError(f"export {self.title!r} has no columns")
        width = len(self.columns)
        for number, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(
                    f"export {self.title!r}: row {number} has {len(row)} values, expected {width}"
                )
