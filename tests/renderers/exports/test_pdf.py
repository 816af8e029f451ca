"""PDF export: a real PDF, one page per screenful of rows with the header repeated, page
numbers in the table's language, Chinese drawn in Noto Sans CJK, markup shown as text."""

from __future__ import annotations

from typing import Any

import pytest

from renderers.exports import EXPORTERS, ExportColumn, ExportTable, to_pdf
from renderers.exports.pdf import PDF_ROW_LIMIT, table_html
from tests.pdfs import font_names, page_count, require_pdf
from tests.renderers.exports.tables import units_table


@pytest.fixture(autouse=True)
def _pdf() -> None:
    require_pdf()


def page_texts(table: ExportTable) -> list[list[str]]:
    """The text boxes WeasyPrint laid out on each page, margin boxes included."""
    import weasyprint

    document = weasyprint.HTML(string=table_html(table)).render()
    # WeasyPrint (pinned) keeps each page's box tree on `_page_box`: the laid-out text
    return [_texts(page._page_box) for page in document.pages]


def _texts(box: Any) -> list[str]:
    found = [box.text] if hasattr(box, "text") else []
    for child in getattr(box, "children", None) or []:
        found.extend(_texts(child))
    return found


def test_a_short_table_is_one_page_in_the_cjk_font() -> None:
    pdf = to_pdf(units_table(rows=3))

    assert pdf.startswith(b"%PDF-")
    assert page_count(pdf) == 1
    assert "Noto-Sans-CJK-SC" in font_names(pdf)


def test_a_long_table_spans_pages_each_with_the_header_and_page_numbers() -> None:
    table = units_table(rows=120)
    pages = page_texts(table)

    assert page_count(to_pdf(table)) == len(pages) > 3
    for number, texts in enumerate(pages, start=1):
        assert texts[texts.index("城区") : texts.index("城区") + 7] == [
            "城区",
            "状态",
            "房屋套数",
            "平均面积",
            "欠费金额",
            "空置率",
            "统计日",
        ]
        assert f"第 {number} 页 / 共 {len(pages)} 页" in texts
        assert "生成时间：2026-11-21 02:00 (UTC+00:00)　生成人：admin" in texts
    first, last = pages[0], pages[-1]
    assert first[:2] == ["房屋套数（按城区、状态）", "截至日期：2026-11-21"]
    assert "房屋套数（按城区、状态）" in last  # the running title from page 2 on
    assert "芙蓉区119" in last and "芙蓉区0" in first
    cells = first[first.index("芙蓉区0") : first.index("芙蓉区0") + 7]
    assert cells == ["芙蓉区0", "已出租", "1,200", "56.25", "¥1,234.50", "12.5%", "2026-03-01"]


def test_english_pages_say_page_n_of_m() -> None:
    pages = page_texts(units_table(rows=60, language="en"))

    assert f"Page 1 of {len(pages)}" in pages[0]
    assert "Generated 2026-11-21 02:00 (UTC+00:00) by admin" in pages[0]


def test_markup_in_titles_and_cells_is_shown_as_text() -> None:
    table = ExportTable(
        "<b>标题</b>",
        [ExportColumn("<i>列</i>")],
        [["<script>alert(1)</script>"], ["<img src=x>"]],
        subtitle="a & b",
    )

    texts = page_texts(table)[0]
    html = table_html(table)

    assert "<b>标题</b>" in texts and "<script>alert(1)</script>" in texts
    assert "<script>" not in html and "&lt;img src=x&gt;" in html


def test_an_empty_table_says_so() -> None:
    texts = page_texts(units_table(rows=0))[0]

    assert "没有数据" in texts


def test_rows_past_the_pdf_limit_are_left_out_with_a_note() -> None:
    table = ExportTable(
        "t", [ExportColumn("n", "integer")], [[n] for n in range(PDF_ROW_LIMIT + 1)]
    )
    html = table_html(table)

    assert EXPORTERS["pdf"].truncates(table)
    assert f"仅导出前 {PDF_ROW_LIMIT:,} 行" in html
    assert f'<td class="num">{PDF_ROW_LIMIT - 1:,}</td>' in html
    assert f'<td class="num">{PDF_ROW_LIMIT:,}</td>' not in html
