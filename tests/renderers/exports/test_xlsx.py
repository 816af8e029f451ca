"""XLSX export, opened back with zipfile: title block, bold frozen header, Excel number
formats, real dates, widths that fit Chinese, formulas neutralised, a safe sheet name."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from renderers.exports import EXPORTERS, ExportColumn, ExportTable, to_xlsx
from renderers.exports.xlsx import XLSX_ROW_LIMIT, sheet_name
from tests.renderers.exports.tables import read_xlsx, units_table

EXCEL_EPOCH = date(1899, 12, 30)


def test_the_sheet_has_a_title_block_then_a_bold_frozen_header_with_a_filter() -> None:
    book = read_xlsx(to_xlsx(units_table(rows=3)))

    assert book.cells["A1"].value == "房屋套数（按城区、状态）"
    assert book.cells["A2"].value == "截至日期：2026-11-21"
    assert book.cells["A3"].value == "生成时间：2026-11-21 02:00 (UTC+00:00)　生成人：admin"
    assert book.row(5) == ["城区", "状态", "房屋套数", "平均面积", "欠费金额", "空置率", "统计日"]
    assert all(book.cells[f"{c}5"].bold for c in "ABCDEFG")
    assert not book.cells["A6"].bold
    assert book.frozen_rows == 5  # title block and header stay in view
    assert book.autofilter == "A5:G8"


def test_numbers_are_numbers_with_excel_formats_and_dates_are_excel_dates() -> None:
    book = read_xlsx(to_xlsx(units_table(rows=1)))
    cells = [book.cells[f"{c}6"] for c in "CDEFG"]

    assert [c.kind for c in cells] == ["n"] * 5
    assert [c.number_format for c in cells] == [
        "#,##0",
        "#,##0.00",
        "¥#,##0.00",
        "0.0%",
        "yyyy-mm-dd",
    ]
    assert [float(c.value) for c in cells[:4]] == [1200, 56.25, 1234.5, 0.125]
    assert (date(2026, 3, 1) - EXCEL_EPOCH).days == int(cells[4].value)
    assert book.cells["A6"].kind == "s" and book.cells["A6"].value == "芙蓉区0"


def test_iso_text_in_a_date_column_and_datetimes_become_excel_dates() -> None:
    columns = [ExportColumn("日", "date"), ExportColumn("时刻"), ExportColumn("月", "date")]
    table = ExportTable("t", columns, [["2026-11-21", datetime(2026, 11, 21, 12, 0), "2026-11"]])

    book = read_xlsx(to_xlsx(table))

    assert (book.cells["A4"].kind, book.cells["A4"].value) == ("n", "46347")
    assert book.cells["B4"].number_format == "yyyy-mm-dd hh:mm"
    assert float(book.cells["B4"].value) == 46347.5
    assert (book.cells["C4"].kind, book.cells["C4"].value) == ("s", "2026-11")  # a bucket


@pytest.mark.parametrize("text", ["=1+1", "+86 731", "-2+3", "@SUM(A1)"])
def test_formula_like_text_is_text_with_excels_quote_prefix(text: str) -> None:
    table = ExportTable("t", [ExportColumn(text), ExportColumn("n", "integer")], [[text, -5]])

    book = read_xlsx(to_xlsx(table))

    assert (book.cells["A3"].kind, book.cells["A3"].value) == ("s", text)  # shown unchanged
    assert book.cells["A3"].quote_prefix and book.cells["A4"].quote_prefix
    assert (book.cells["B4"].kind, book.cells["B4"].quote_prefix) == ("n", False)


def test_column_widths_count_chinese_characters_double() -> None:
    table = ExportTable(
        "t",
        [ExportColumn("名"), ExportColumn("name"), ExportColumn("n", "money")],
        [["芙蓉区东湖街道马坡岭社区", "Furong Donghu", 1234567.5]],
    )

    widths = read_xlsx(to_xlsx(table)).widths

    assert widths[1] > widths[2] > 8  # 12 CJK characters take 24 columns, 13 letters 13
    assert int(widths[1]) == 24 + 2 and int(widths[2]) == 13 + 2  # Excel adds its padding
    assert int(widths[3]) == len("¥1,234,567.50") + 2


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("房屋套数 [按城区/状态]", "房屋套数 (按城区_状态)"),
        ("a:b*c?d\\e", "a_b_c_d_e"),
        ("'引号'", "引号"),
        ("history", "history_"),
        ("", "Sheet1"),
        ("很" * 40, "很" * 31),
    ],
)
def test_sheet_names_are_ones_excel_accepts(title: str, name: str) -> None:
    assert sheet_name(title) == name


def test_the_workbook_uses_the_safe_sheet_name() -> None:
    table = units_table(title="欠费统计 2026/11 [城区]")

    assert read_xlsx(to_xlsx(table)).sheet_name == "欠费统计 2026_11 (城区)"


def test_an_empty_table_still_has_its_header_and_past_the_limit_a_note() -> None:
    empty = read_xlsx(to_xlsx(units_table(rows=0, subtitle="", generated_by="", generated_at=None)))
    big = ExportTable("t", [ExportColumn("n", "integer")], [[n] for n in range(XLSX_ROW_LIMIT + 1)])
    book = read_xlsx(EXPORTERS["xlsx"].write(big))

    assert empty.row(3)[0] == "城区" and empty.frozen_rows == 3
    assert book.cells["A2"].value == "仅导出前 100,000 行，其余行未包含。"
    last = 4 + XLSX_ROW_LIMIT
    assert book.cells[f"A{last}"].value == str(XLSX_ROW_LIMIT - 1)
    assert f"A{last + 1}" not in book.cells
