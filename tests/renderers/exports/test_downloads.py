"""The download side of exports: content types, extensions and a Content-Disposition that
saves a Chinese report name correctly and cannot be bent into another header."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from renderers.exports import (
    CONTENT_TYPES,
    EXPORTERS,
    content_disposition,
    download_name,
)
from tests.renderers.exports.tables import units_table


def saved_as(disposition: str) -> str:
    """The name a browser saves under: `filename*` (RFC 5987) when given, else `filename`."""
    extended = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
    if extended:
        return unquote(extended.group(1))
    plain = re.search(r'filename="([^"]*)"', disposition)
    assert plain is not None, disposition
    return plain.group(1)


def test_each_format_has_its_content_type_and_extension() -> None:
    assert {name: (e.content_type, e.extension) for name, e in EXPORTERS.items()} == {
        "csv": ("text/csv; charset=utf-8", "csv"),
        "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        "pdf": ("application/pdf", "pdf"),
    }
    assert CONTENT_TYPES["pdf"] == "application/pdf"
    assert EXPORTERS["csv"].row_limit == EXPORTERS["xlsx"].row_limit == 100_000


@pytest.mark.parametrize(
    ("name", "fallback", "saved"),
    [
        ("房屋统计.xlsx", "export.xlsx", "房屋统计.xlsx"),
        ("units-by-status.csv", "units-by-status.csv", "units-by-status.csv"),
        ("欠费 2026-11.pdf", "2026-11.pdf", "欠费 2026-11.pdf"),
        ('a"b\r\nSet-Cookie: x=1.csv', "a_b_Set-Cookie_x_1.csv", "a_b__Set-Cookie_ x=1.csv"),
        ("../../etc/passwd", "etc_passwd", "_.._etc_passwd"),
    ],
)
def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name(
    name: str, fallback: str, saved: str
) -> None:
    header = content_disposition(name)

    assert header.isascii() and "\r" not in header and "\n" not in header
    assert header.startswith("attachment; ")
    assert re.search(r'filename="([^"]*)"', header).group(1) == fallback  # type: ignore[union-attr]
    assert saved_as(header) == saved


def test_a_download_through_starlette_keeps_the_chinese_name() -> None:
    exporter = EXPORTERS["csv"]

    async def download(request: Request) -> Response:
        table = units_table()
        name = download_name(table.title, exporter.extension, "20261121-1000")
        headers = {"Content-Disposition": content_disposition(name)}
        return Response(exporter.write(table), media_type=exporter.content_type, headers=headers)

    with TestClient(Starlette(routes=[Route("/x", download)])) as client:
        response = client.get("/x")

    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert saved_as(response.headers["content-disposition"]) == (
        "房屋套数（按城区、状态）-20261121-1000.csv"
    )
    assert response.content.decode("utf-8-sig").startswith("城区,状态")


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("房屋套数/城区", "房屋套数_城区.xlsx"),
        ("  .隐藏. ", "隐藏.xlsx"),
        ("", "export.xlsx"),
        ("长" * 200, "长" * 120 + ".xlsx"),
    ],
)
def test_download_names_are_safe_file_names(title: str, name: str) -> None:
    assert download_name(title, "xlsx") == name
