"""The fixed texts of exports in Chinese and English: who generated a file and when, a note
when rows were left out, and the page numbers of a PDF."""

from __future__ import annotations

from datetime import datetime

from renderers.exports.table import ExportTable

TEXTS = {
    "zh": {
        "generated_at": "生成时间：{at}",
        "generated_by": "生成人：{by}",
        "separator": "　",
        "truncated": "仅导出前 {limit:,} 行，其余行未包含。",
        "empty": "没有数据",
    },
    "en": {
        "generated_at": "Generated {at}",
        "generated_by": "by {by}",
        "separator": " ",
        "truncated": "Only the first {limit:,} rows are included.",
        "empty": "No data",
    },
}
PAGE_NUMBERS = {
    # CSS `content` values for the PDF footer: fixed text, never user input
    "zh": '"第 " counter(page) " 页 / 共 " counter(pages) " 页"',
    "en": '"Page " counter(page) " of " counter(pages)',
}


def texts_of(language: str) -> dict[str, str]:
    """The texts in `language`, Chinese when it is neither zh nor en."""
    return TEXTS.get(language, TEXTS["zh"])


def generated_line(table: ExportTable) -> str:
    """`生成时间：2026-11-21 10:00 (UTC+08:00)　生成人：admin`, or '' when neither is known."""
    texts = texts_of(table.language)
    parts = []
    if table.generated_at is not None:
        parts.append(texts["generated_at"].format(at=timestamp(table.generated_at)))
    if table.generated_by:
        parts.append(texts["generated_by"].format(by=table.generated_by))
    return texts["separator"].join(parts)


def truncated_line(language: str, limit: int) -> str:
    """The note that rows after the `limit`th were left out."""
    return texts_of(language)["truncated"].format(limit=limit)


def timestamp(moment: datetime) -> str:
    """`2026-11-21 10:00`, with the UTC offset when the time knows its zone."""
    text = moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is None:
        return text
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{text} (UTC{sign}{hours:02d}:{rest:02d})"
