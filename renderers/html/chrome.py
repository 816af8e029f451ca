"""What frames every screen: who is logged in, the navigation they may open (entities,
reports and dashboards), the language switch, the CSRF token of forms and the count of
unread alerts. Built from the request and the catalog (menus are kept per catalog version
and roles) plus one indexed count for the alerts badge."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.requests import Request

from engine.alerts.listing import unread_count
from engine.catalog import Catalog
from engine.permissions.menus import menus_for
from engine.principal import Principal
from renderers.api.requests import principal_of
from renderers.authentication import session_of
from renderers.html.environment import language_of_page
from renderers.html.texts import words

STUDIO_ROLES = frozenset({"configurator", "auditor"})
AUDIT_ROLES = frozenset({"auditor"})
DEVICE_SCREENS = "/iot/devices"
DEVICE_MONITOR = {"zh": "设备监控", "en": "Device monitor"}


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
    reports: list[MenuEntity] = field(default_factory=list)  # reports and dashboards


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
    unread_alerts: int = 0  # the top bar's badge, linking to /alerts

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
            if entities and catalog.definitions.apps[app["name"]].device_types:
                entities.insert(0, _device_monitor(language, path))
            reports = [MenuEntity(r["label"], r["path"], path == r["path"]) for r in app["reports"]]
            menus.append(MenuApp(app["name"], app["label"], entities, reports))
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
        unread_alerts=_unread_alerts(request, principal) if with_menus else 0,
    )


def _device_monitor(language: str, path: str) -> MenuEntity:
    """The device screens (`iot/screens`), first in the menu of an app that defines device
    types, for those who may open its records."""
    label = DEVICE_MONITOR[language]
    return MenuEntity(
        label, DEVICE_SCREENS, path == DEVICE_SCREENS or path.startswith(DEVICE_SCREENS + "/")
    )


def _unread_alerts(request: Request, principal: Principal) -> int:
    """The user's unread alerts: one indexed count per page (the page's only query here)."""
    if not principal.is_authenticated or not principal.username:
        return 0
    with request.app.state.runtime.engine.connect() as conn:
        return unread_count(conn, principal)


def _below(prefix: str, path: str) -> tuple[str, ...]:
    """`path` itself when it lies under `prefix` (a record of the entity), else nothing."""
    return (path,) if path.startswith(prefix + "/") else ()
