"""HTML to PDF with WeasyPrint, offline, with a CJK font: the one way Anju makes a PDF.

Report exports (`renderers/exports/pdf.py`) and flow documents (`format: pdf` templates) both
come through `html_to_pdf`. WeasyPrint is imported on first use, so a machine without Pango
still serves everything else; asking it for a PDF then gets `PdfUnavailable` (HTTP 503)
naming the Debian packages to install.

Rendering never touches the network: only `data:` URLs, and `file:` URLs inside `base_url`
when one is given, are fetched; anything else (http, https, ftp, files elsewhere) is refused,
so neither a report title nor a template author can make the server fetch a URL or embed a
server file.

    >>> pdf = html_to_pdf("<h1>公租房资格确认单</h1>")
    >>> pdf[:5]
    b'%PDF-'
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

from engine.errors import AnjuError

DEBIAN_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"
CJK_FONT_FAMILY = '"Noto Sans CJK SC", "Noto Sans SC", sans-serif'
BASE_STYLESHEET = f"html {{ font-family: {CJK_FONT_FAMILY}; }}"
"""Under every document: Chinese falls back to Noto Sans CJK (Debian fonts-noto-cjk), not to
a font without CJK glyphs. A document's own `body`/element fonts still win."""


class PdfUnavailable(AnjuError):
    """WeasyPrint or the Pango libraries it draws with are missing on this server."""

    status, code = 503, "pdf_unavailable"


def html_to_pdf(html: str, base_url: str | None = None) -> bytes:
    """The PDF of an HTML document. `base_url` (a local folder) lets relative `file:` URLs,
    such as a seal image beside the template, resolve inside that folder and nowhere else."""
    weasyprint = _weasyprint()
    if base_url and Path(base_url).is_dir() and not base_url.endswith("/"):
        base_url += "/"  # relative URLs resolve inside the folder, not beside it
    fetcher = _offline_fetcher(base_url)
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    base = weasyprint.CSS(string=BASE_STYLESHEET, url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(stylesheets=[base])
    return pdf


def pdf_available() -> bool:
    """Whether this server can make PDFs (WeasyPrint imports and finds Pango)."""
    try:
        _weasyprint()
    except PdfUnavailable:
        return False
    return True


@cache
def _weasyprint() -> ModuleType:
    """WeasyPrint, imported once; a failed import is not cached, so installing Pango and
    retrying works without a restart."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint found no Pango library
        raise PdfUnavailable(
            "PDF output is not available on this server: WeasyPrint could not load "
            f"({type(exc).__name__}: {exc}). On Debian install the packages "
            f"{DEBIAN_PACKAGES} (apt-get install {DEBIAN_PACKAGES}) and restart Anju."
        ) from exc
    return weasyprint


def _offline_fetcher(base_url: str | None) -> Any:
    """A WeasyPrint URL fetcher that serves `data:` URLs and files under `base_url` only."""
    from weasyprint.urls import URLFetcher

    folder = _local_folder(base_url)

    class OfflineFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint has no types
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not _may_fetch(url, folder):
                raise ValueError(f"refused to fetch {url[:200]!r}: PDFs render offline")
            return super().fetch(url, headers)

    return OfflineFetcher(timeout=1, allowed_protocols=("data", "file"))


def _local_folder(base_url: str | None) -> Path | None:
    if not base_url:
        return None
    parts = urlsplit(base_url)
    if parts.scheme == "file":
        return Path(unquote(parts.path)).resolve()
    if parts.scheme == "" and Path(base_url).is_absolute():
        return Path(base_url).resolve()
    return None


def _may_fetch(url: str, folder: Path | None) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "data":
        return True
    if parts.scheme != "file" or folder is None or parts.netloc not in ("", "localhost"):
        return False
    target = Path(unquote(parts.path)).resolve()
    return target.is_relative_to(folder)
