"""The navigation a principal may open: apps, with the entities it can read and what it can do."""

from __future__ import annotations

from typing import Any

from engine.catalog import Catalog
from engine.permissions.access import access_for
from engine.principal import Principal
from metamodel.labels import pick
from metamodel.models import ACTIONS


def menus_for(catalog: Catalog, principal: Principal, language: str = "zh") -> list[dict[str, Any]]:
    """Apps in their order, each with the entities the principal may read (and its actions on
    them); apps with nothing readable are left out. Reports join when reports exist."""
    menus = []
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
        if entities:
            label = pick(bundle.app.label, language) or app_name
            menus.append({"name": app_name, "label": label, "entities": entities, "reports": []})
    return menus
