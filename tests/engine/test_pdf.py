"""engine.pdf: HTML to PDF offline with a CJK font, and a clear 503 without WeasyPrint."""

from __future__ import annotations

import struct
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.abc import MetaPathFinder
from pathlib import Path
from typing import Any

import pytest

from engine import pdf as engine_pdf
from engine.errors import AnjuError
from engine.pdf import PdfUnavailable, html_to_pdf, pdf_available
from tests.pdfs import font_names, page_count, readable, require_pdf


def png(width: int = 2, height: int = 2) -> bytes:
    """A small red PNG, written by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def has_image(pdf: bytes) -> bool:
    return b"/Subtype /Image" in readable(pdf) or b"/Subtype/Image" in readable(pdf)


@pytest.fixture
def requests_seen() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server at the network edge that records every request it gets."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png())

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_chinese_without_any_font_named_is_drawn_in_noto_sans_cjk() -> None:
    require_pdf()

    pdf = html_to_pdf("<h1>公共租赁住房保障资格确认单</h1><p>编号：QC-2026-0001</p>")

    assert pdf.startswith(b"%PDF-") and page_count(pdf) == 1
    assert "Noto-Sans-CJK-SC" in font_names(pdf)


def test_a_documents_own_font_still_falls_back_to_a_cjk_font() -> None:
    require_pdf()
    html = '<body style="font-family: SimSun, serif"><p>申请人姓名：张三</p></body>'

    fonts = font_names(html_to_pdf(html))

    assert any("CJK" in name for name in fonts), fonts


def test_css_page_rules_decide_size_and_page_breaks() -> None:
    require_pdf()
    html = (
        "<style>@page { size: A5 } section { break-after: page }</style>"
        "<section>一</section><section>二</section><section>三</section>"
    )

    assert page_count(html_to_pdf(html)) == 3


def test_nothing_is_fetched_over_the_network(requests_seen: tuple[str, list[str]]) -> None:
    require_pdf()
    url, seen = requests_seen
    html = (
        f'<link rel="stylesheet" href="{url}/style.css">'
        f'<p>印章</p><img src="{url}/seal.png"><img src="{url.replace("http", "https")}/x.png">'
    )

    pdf = html_to_pdf(html, base_url=url + "/")

    assert pdf.startswith(b"%PDF-")
    assert seen == []
    assert not has_image(pdf)


def test_files_are_read_only_inside_base_url(tmp_path: Path) -> None:
    require_pdf()
    folder, elsewhere = tmp_path / "templates", tmp_path / "private"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "seal.png").write_bytes(png())
    (elsewhere / "secret.png").write_bytes(png())

    inside = html_to_pdf('<img src="seal.png">', base_url=str(folder))
    outside = html_to_pdf('<img src="../private/secret.png">', base_url=str(folder))
    absolute = html_to_pdf(f'<img src="{(elsewhere / "secret.png").as_uri()}">')
    data = html_to_pdf(
        '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUl'
        'EQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==">'
    )

    assert has_image(inside) and has_image(data)
    assert not has_image(outside) and not has_image(absolute)


class _NoPango(MetaPathFinder):
    """What importing WeasyPrint does on a machine without Pango: an OSError."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0': No such file")


@pytest.fixture
def fresh_import() -> Iterator[None]:
    """Forget the imported WeasyPrint before and after, so the next import is real."""
    engine_pdf._weasyprint.cache_clear()
    yield
    engine_pdf._weasyprint.cache_clear()


@pytest.mark.parametrize("missing", ["weasyprint", "pango"])
def test_without_weasyprint_or_pango_a_pdf_is_a_clear_503(
    missing: str, monkeypatch: pytest.MonkeyPatch, fresh_import: None
) -> None:
    if missing == "weasyprint":
        monkeypatch.setitem(sys.modules, "weasyprint", None)  # import raises ImportError
    else:
        monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
        monkeypatch.setattr(sys, "meta_path", [_NoPango(), *sys.meta_path])

    with pytest.raises(PdfUnavailable) as raised:
        html_to_pdf("<p>你好</p>")

    error = raised.value
    assert isinstance(error, AnjuError)
    assert (error.status, error.code) == (503, "pdf_unavailable")
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-noto-cjk"):
        assert package in error.message
    assert error.as_json()["error"]["code"] == "pdf_unavailable"
    assert not pdf_available()


def test_once_weasyprint_loads_again_pdfs_work_without_a_restart(
    monkeypatch: pytest.MonkeyPatch, fresh_import: None
) -> None:
    require_pdf()
    engine_pdf._weasyprint.cache_clear()  # as on a server started before Pango was installed
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "weasyprint", None)
        assert not pdf_available()

    assert pdf_available()
    assert html_to_pdf("<p>你好</p>").startswith(b"%PDF-")
