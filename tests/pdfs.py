"""Reading PDFs back in tests without a PDF library: the inflated streams, the page count,
the embedded fonts; and `require_pdf()`, which skips PDF tests on a machine without
WeasyPrint/Pango unless CI demands them (`ANJU_REQUIRE_PDF=1`, set by `.ci/run`)."""

from __future__ import annotations

import os
import re
import zlib

import pytest

from engine.pdf import DEBIAN_PACKAGES, pdf_available

# Read when tests are collected: the session fixture in conftest.py clears ANJU_* variables.
REQUIRE_PDF = os.environ.get("ANJU_REQUIRE_PDF") == "1"
STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
FONT = re.compile(rb"/(?:BaseFont|FontName)\s*/([^\s/<>\[\]()]+)")


def require_pdf() -> None:
    """Skip the test when this machine cannot draw PDFs; fail instead when CI demands it."""
    if pdf_available():
        return
    if REQUIRE_PDF:
        pytest.fail(
            f"ANJU_REQUIRE_PDF=1 but WeasyPrint cannot load: apt-get install {DEBIAN_PACKAGES}"
        )
    pytest.skip(f"no WeasyPrint/Pango on this machine (Debian: apt-get install {DEBIAN_PACKAGES})")


def readable(pdf: bytes) -> bytes:
    """The file with every compressed stream inflated after it (object streams hold the page
    dictionaries, so counting pages needs them)."""
    parts = [pdf]
    for match in STREAM.finditer(pdf):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue  # not a Flate stream (or a font program): nothing to read in it
    return b"\n".join(parts)


def page_count(pdf: bytes) -> int:
    """How many `/Type /Page` dictionaries the file has."""
    return len(PAGE.findall(readable(pdf)))


def font_names(pdf: bytes) -> set[str]:
    """The embedded fonts' names without their subset prefix (`ABCDEF+`)."""
    names = {m.decode("latin-1") for m in FONT.findall(readable(pdf))}
    return {name.split("+", 1)[-1] for name in names}
