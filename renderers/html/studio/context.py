"""What every studio screen reads: who may look or change (the meta API's roles), the
published definitions with the draft over them, the posted form, and problems as shown.

Every change goes through the same engine calls as `/api/meta`, so a definition saved here
is checked exactly as one `PUT` there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from engine import drafts
from engine.errors import AnjuError
from engine.principal import Principal
from engine.runtime import Runtime
from metamodel import store
from metamodel.canonical import canonical_yaml
from metamodel.definitions import Key
from renderers.api.meta import READERS, WRITERS
from renderers.api.requests import principal_of, require_roles
from renderers.html.chrome import Chrome, chrome_of
from renderers.html.environment import language_of_page
from renderers.html.studio.words import TEXTS

Contents = dict[Key, dict[str, Any]]
Draft = dict[Key, dict[str, Any] | None]


@dataclass(frozen=True)
class Problem:
    """One error as the studio shows it: the message, and where it points (line, column,
    path inside the definition) when the engine knows."""

    message: str
    path: str = ""
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class DefinitionsState:
    """The published definitions (`version`, None before the first publish) and the
    pending draft: content per changed key, None where the draft deletes it."""

    version: int | None
    published: Contents
    draft: Draft = field(default_factory=dict)

    @property
    def merged(self) -> Contents:
        return store.apply_draft(self.published, self.draft)

    def change_of(self, key: Key) -> str | None:
        """`new`, `changed` or `deleted` for a key the draft touches, else None."""
        if key not in self.draft:
            return None
        if self.draft[key] is None:
            return "deleted"
        return "changed" if key in self.published else "new"


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def may_look(request: Request) -> Principal:
    """Configurators and auditors may look (admin passes); anyone else gets a 403 page."""
    return require_roles(request, *READERS)


def may_change(request: Request) -> Principal:
    """Only configurators (and admin) change definitions; auditors get a 403 page."""
    return require_roles(request, *WRITERS)


def can_change(request: Request) -> bool:
    principal = principal_of(request)
    return principal.is_superuser or not set(WRITERS).isdisjoint(principal.roles)


def studio_chrome(request: Request, title_key: str = "studio_title", title: str = "") -> Chrome:
    """The frame with the studio's words; the title is `title`, else the word `title_key`."""
    title = title or TEXTS[language_of_page(request)][title_key]
    return chrome_of(request, title=title, own_texts=TEXTS)


def read_state(runtime: Runtime) -> DefinitionsState:
    """The published definitions of this worker's catalog and the draft from the database."""
    catalog = runtime.catalog()
    with runtime.engine.connect() as conn:
        pending = store.read_draft(conn)
    published = catalog.definitions.contents if catalog else {}
    return DefinitionsState(catalog.version if catalog else None, published, pending)


async def load_state(request: Request) -> DefinitionsState:
    return await run_in_threadpool(read_state, runtime_of(request))


async def read_form(request: Request) -> dict[str, list[str]]:
    """The posted form as lists of values per name (checkboxes repeat a name)."""
    async with request.form(max_files=0, max_fields=200) as form:
        values: dict[str, list[str]] = {}
        for name, value in form.multi_items():
            if isinstance(value, str):
                values.setdefault(name, []).append(value)
        return values


def first(form: dict[str, list[str]], name: str) -> str:
    return form.get(name, [""])[0]


def save_draft(runtime: Runtime, key: Key, content: dict[str, Any], author: str) -> None:
    """Store edited definition data as the draft, through the meta API's own call."""
    drafts.put_definition(runtime, key, canonical_yaml(content), False, author)


def problems_of(error: AnjuError) -> list[Problem]:
    return [
        Problem(
            message=str(detail.get("message", "")),
            path=str(detail.get("path") or ""),
            line=detail.get("line"),
            column=detail.get("column"),
        )
        for detail in error.details
    ] or [Problem(error.message)]


def format_word(texts: dict[str, str], key: str, **values: object) -> str:
    """A word with placeholders (`{n}`) filled in."""
    return texts[key].format(**values)
