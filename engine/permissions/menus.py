"""The navigation a principal may open: apps, with the entities it can read and what it can do.

Every screen shows the menus, so they are kept per catalog version, per set of roles held and
per language: what a principal may open depends on nothing else (row scopes decide which
records, not which entities)."""

from __future__ import annotations

from typing import Any

from engine.catalog import Catalog
from engine.permissions.access import access_for
from engine.principal import Principal
from engine.reports import runnable_reports
from metamodel.labels import pick
from metamodel.models import ACTIONS

MENU_KEYS = 256  # role combinations × languages kept per catalog; past it, start again


def menus_for(catalog: Catalog, principal: Principal, language: str = "zh") -> list[dict[str, Any]]:
    """Apps in their order, each with the entities the principal may read (and its actions on
    them), and the reports and dashboards it may open (`runnable_reports`); apps with
    nothing to open are left out.

    The answer is the caller's to change: it is copied from the catalog's kept menus."""
    kept: dict[Any, list[dict[str, Any]]] = catalog.cache.setdefault("menus", {})
    roles = frozenset(assignment.role for assignment in principal.held_roles())
    key = (principal.is_superuser, roles, language)
    menus = kept.get(key)
    if menus is None:
        if len(kept) >= MENU_KEYS:
            kept.clear()
        menus = kept.setdefault(key, _menus(catalog, principal, language))
    return [
        {
            **app,
            "entities": [{**e, "actions": list(e["actions"])} for e in app["entities"]],
            "reports": list(app["reports"]),
        }
        for app in menus
    ]


def _menus(catalog: Catalog, principal: Principal, language: str) -> list[dict[str, Any]]:
    menus = []
    reports: dict[str, list[dict[str, Any]]] = {}
    for entry in runnable_reports(catalog, principal):
        reports.setdefault(entry.app, []).append(
            {
                "name": entry.name,
                "label": pick(entry.label, language) or entry.name,
                "kind": entry.kind,
                "path": entry.path,
            }
        )
    bundles = sorted(
        catalog.definitions.apps.items(), key=lambda item: (item[1].app.order, item[0])
    )
    for app_name, bundle in bundles:
        entities = []
        for definition in bundle.entities.values():
            entity = catalog.entity(app_name, definition.name)
            assert entity is not None, "every definition is compiled"
            access = access_for(entity, principal)
            actions = [action for action in ACTIONS if access.allows(action)]
            if "read" in actions:
                entities.append(
                    {
                        "name": definition.name,
                        "label": pick(definition.label, language) or definition.name,
                        "path": f"/{app_name}/{definition.name}",
                        "actions": actions,
                    }
                )
        if entities or app_name in reports:
            label = pick(bundle.app.label, language) or app_name
            menu = {"entities": entities, "reports": reports.get(app_name, [])}
            menus.append({"name": app_name, "label": label, **menu})
    return menus
