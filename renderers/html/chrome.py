"""What frames every screen: who is logged in, the navigation they may open, the language
switch and the CSRF token of forms. Built from the request and the catalog, with no query,
so it costs nothing per page."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.requests import Request

from engine.catalog import Catalog
from engine.permissions.menus import menus_for
from renderers.api.requests import principal_of
from renderers.authentication import session_of
from renderers.html.environment import language_of_page
from renderers.html.texts import words

STUDIO_ROLES = frozenset({"configurator", "auditor"})
AUDIT_ROLES = frozenset({"auditor"})


@dataclass(frozen=True)
class MenuEntity:
    label: str
    path: str
    active: bool


@dataclass(frozen=True)
class MenuApp:
    name: str
    label: str
    entities: list[MenuEntity]


@dataclass(frozen=True)
class Chrome:
    """The frame of a page. `texts` are the common words merged with the screen's own;
    `csrf_token` goes into every form (and into htmx requests, as a header)."""

    language: str
    texts: dict[str, str]
    title: str
    path: str
    username: str
    csrf_token: str
    switch_language_url: str
    menus: list[MenuApp] = field(default_factory=list)
    can_open_studio: bool = False
    can_open_audit: bool = False

    @property
    def html_lang(self) -> str:
        return "en" if self.language == "en" else "zh-CN"


def chrome_of(
    request: Request,
    title: str = "",
    catalog: Catalog | None = None,
    own_texts: dict[str, dict[str, str]] | None = None,
    with_menus: bool = True,
) -> Chrome:
    """The frame for this request; `own_texts` are the screen's words (`{"zh": …, "en": …}`).
    `catalog` defaults to the newest published one."""
    principal = principal_of(request)
    session = session_of(request)
    language = language_of_page(request)
    if catalog is None and with_menus:
        catalog = request.app.state.runtime.catalog()
    path = request.url.path
    menus = []
    if catalog is not None and principal.is_authenticated:
        for app in menus_for(catalog, principal, language):
            entities = [
                MenuEntity(e["label"], e["path"], path in (e["path"], *_below(e["path"], path)))
                for e in app["entities"]
            ]
            menus.append(MenuApp(app["name"], app["label"], entities))
    roles = set(principal.roles)
    here = path + (f"?{request.url.query}" if request.url.query else "")
    other = "zh" if language == "en" else "en"
    return Chrome(
        language=language,
        texts=words(language, own_texts),
        title=title,
        path=path,
        username=principal.username or "",
        csrf_token=session.csrf_token if session else "",
        switch_language_url="/-/language?" + urlencode({"to": other, "next": here}),
        menus=menus,
        can_open_studio=principal.is_superuser or bool(roles & STUDIO_ROLES),
        can_open_audit=principal.is_superuser or bool(roles & AUDIT_ROLES),
    )


def _below(prefix: str, path: str) -> tuple[str, ...]:
    """`path` itself when it lies under `prefix` (a record of the entity), else nothing."""
    return (path,) if path.startswith(prefix + "/") else ()
