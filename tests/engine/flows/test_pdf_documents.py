"""`format: pdf` document templates: a move renders the template and stores a PDF file; a
server without WeasyPrint refuses the move with a 503 and leaves the record as it was."""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from starlette.testclient import TestClient

from engine import pdf as engine_pdf
from tests.databases import estate_settings
from tests.definitions import write_folder
from tests.flows import PERMIT_FLOW, permit_client, permit_folder
from tests.identity import client_as, create_org
from tests.pdfs import font_names, page_count, require_pdf

CERTIFICATE = (
    "<style>@page { size: A4 }</style>"
    "<h1>许可证 {{ record.title }}</h1>"
    "<p>{{ labels.amount }}：{{ record.amount }}</p>"
)


def pdf_folder(filename: str | None) -> dict[str, Any]:
    """The permit flow with its certificate as a PDF and a shortcut straight to `granted`."""
    folder = permit_folder()
    flow = copy.deepcopy(PERMIT_FLOW)
    flow["transitions"]["grant_now"] = {"from": "draft", "to": "granted", "roles": ["clerk"]}
    if filename is not None:
        flow["states"]["granted"]["on_enter"][0]["filename"] = filename
    folder["estate/flows/permit.yaml"] = flow
    folder["estate/templates/permit_certificate.yaml"] = {
        "label": "许可证",
        "format": "pdf",
        "body": CERTIFICATE,
    }
    return folder


@pytest.fixture
def clerk_of(tmp_path: Path, database_url: str | None) -> Iterator[Any]:
    """Opens the app on the PDF folder (with an optional filename expression) and returns a
    clerk's client in a street."""
    opened: list[Any] = []

    def open_app(filename: str | None = None) -> TestClient:
        settings = estate_settings(
            tmp_path, database_url, plugins=["plugins.builtin", "tests.flows"]
        )
        write_folder(settings.apps_config, pdf_folder(filename))
        context = permit_client(settings)
        admin, _runtime, _clock = context.__enter__()
        opened.append(context)
        street = create_org(admin, "S01", "street")
        return client_as(admin, "clerk1", "clerk", org_id=street["id"])

    yield open_app
    for context in reversed(opened):
        context.__exit__(None, None, None)


def saved_as(disposition: str) -> str:
    """The file name a browser saves a download under (RFC 6266: `filename*` first)."""
    extended = re.search(r"filename\*=utf-8''([^;]+)", disposition, re.IGNORECASE)
    if extended:
        return unquote(extended.group(1))
    plain = re.search(r'filename="([^"]*)"', disposition)
    assert plain is not None, disposition
    return plain.group(1)


def grant(clerk: TestClient) -> tuple[dict[str, Any], Any]:
    permit = clerk.post("/api/estate/permit", json={"title": "店招 Shop sign", "amount": 500})
    assert permit.status_code == 201, permit.text
    return permit.json(), clerk.post(
        f"/api/estate/permit/{permit.json()['id']}/transitions/grant_now", json={}
    )


def test_a_pdf_template_stores_a_pdf_with_the_record_in_chinese(clerk_of: Any) -> None:
    require_pdf()
    clerk = clerk_of()

    permit, moved = grant(clerk)

    assert moved.status_code == 200, moved.text
    granted = clerk.get(f"/api/estate/permit/{permit['id']}").json()
    assert granted["state"] == "granted"
    document = clerk.get(f"/api/files/{granted['certificate']}")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert (
        saved_as(document.headers["content-disposition"])
        == f"permit_certificate-{permit['id']}.pdf"
    )
    assert document.content.startswith(b"%PDF-") and page_count(document.content) == 1
    assert "Noto-Sans-CJK-SC" in font_names(document.content)


def test_a_filename_expression_gets_the_pdf_extension(clerk_of: Any) -> None:
    require_pdf()
    clerk = clerk_of('concat("许可证-", title, ".html")')

    permit, moved = grant(clerk)

    assert moved.status_code == 200, moved.text
    granted = clerk.get(f"/api/estate/permit/{permit['id']}").json()
    document = clerk.get(f"/api/files/{granted['certificate']}")
    assert saved_as(document.headers["content-disposition"]) == "许可证-店招 Shop sign.pdf"


def test_without_weasyprint_the_move_is_refused_and_nothing_is_written(
    clerk_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk = clerk_of()
    engine_pdf._weasyprint.cache_clear()
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    try:
        permit, moved = grant(clerk)
    finally:
        engine_pdf._weasyprint.cache_clear()

    assert moved.status_code == 503
    error = moved.json()["error"]
    assert error["code"] == "pdf_unavailable"
    assert "libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk" in error["message"]
    after = clerk.get(f"/api/estate/permit/{permit['id']}").json()
    assert (after["state"], after["certificate"]) == ("draft", None)
