"""CSV export: UTF-8 with BOM, read back by the csv module as Excel would split it."""

from __future__ import annotations

import csv
import io

import pytest

from renderers.exports import EXPORTERS, ExportColumn, ExportTable, to_csv
from renderers.exports.csv import CSV_ROW_LIMIT
from tests.renderers.exports.tables import units_table


def read_back(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_a_table_round_trips_with_chinese_labels_and_plain_numbers() -> None:
    rows = read_back(to_csv(units_table(rows=2)))

    assert rows[0] == ["城区", "状态", "房屋套数", "平均面积", "欠费金额", "空置率", "统计日"]
    assert rows[1] == ["芙蓉区0", "已出租", "1200", "56.25", "1234.50", "12.5%", "2026-03-01"]
    assert rows[2] == ["芙蓉区1", "空置", "1201", "57.25", "2469.00", "12.6%", "2026-03-02"]
    assert len(rows) == 3  # the title and parameters go in the file name, not the rectangle


def test_commas_quotes_and_line_breaks_stay_inside_their_cell() -> None:
    awkward = '岳麓区, "北" 片\n第二行'
    table = ExportTable("t", [ExportColumn("名称"), ExportColumn("n", "integer")], [[awkward, 3]])

    assert read_back(to_csv(table))[1] == [awkward, "3"]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://x","点我")', '\'=HYPERLINK("http://x","点我")'),
        ("+86 731", "'+86 731"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("-5", "-5"),  # a plain number is not a formula
        ("芙蓉区", "芙蓉区"),
    ],
)
def test_text_a_spreadsheet_would_run_as_a_formula_is_neutralised(text: str, written: str) -> None:
    table = ExportTable("t", [ExportColumn("名称")], [[text]])

    assert read_back(to_csv(table))[1] == [written]


def test_numbers_empty_cells_and_booleans() -> None:
    columns = [
        ExportColumn("a", "integer"),
        ExportColumn("b"),
        ExportColumn("c"),
        ExportColumn("d"),
    ]
    zh = ExportTable("t", columns, [[-5, None, True, False]])
    en = ExportTable("t", columns, [[-5, None, True, False]], language="en")

    assert read_back(to_csv(zh))[1] == ["-5", "", "是", "否"]
    assert read_back(to_csv(en))[1] == ["-5", "", "Yes", "No"]


def test_rows_past_the_limit_are_left_out_and_the_exporter_says_so() -> None:
    table = ExportTable(
        "t", [ExportColumn("n", "integer")], [[n] for n in range(CSV_ROW_LIMIT + 5)]
    )
    exporter = EXPORTERS["csv"]

    rows = read_back(exporter.write(table))

    assert len(rows) == CSV_ROW_LIMIT + 1
    assert rows[-1] == [str(CSV_ROW_LIMIT - 1)]
    assert exporter.truncates(table) and exporter.rows_written(table) == CSV_ROW_LIMIT
    assert not exporter.truncates(units_table())
