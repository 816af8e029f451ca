"""Form state: which fields of a form are visible, read-only and required for given values.

The generated screens ask this as the user types; the conditions are the form definition's
expressions, evaluated server-side against the values entered so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.errors import Forbidden, NotFound
from engine.permissions import access_for
from engine.principal import Principal
from engine.records.evaluation import environment
from engine.values import ConversionError, convert


@dataclass(frozen=True)
class FieldState:
    visible: bool
    readonly: bool
    required: bool


def form_state(
    conn: sa.Connection,
    catalog: Catalog,
    app: str,
    form_name: str,
    values: dict[str, Any],
    principal: Principal,
) -> dict[str, Any]:
    """`{"fields": {name: {visible, readonly, required}}, "sections": [visible, ...]}`.

    Values that do not (yet) convert to their field's type count as empty, so a half-typed
    date never breaks the form.
    """
    bundle = catalog.definitions.apps.get(app)
    definition = bundle.forms.get(form_name) if bundle else None
    compiled = catalog.forms.get((app, form_name))
    if definition is None or compiled is None:
        raise NotFound(f"no form {app}/{form_name}")
    entity = catalog.entity(compiled.app, compiled.entity)
    assert entity is not None, "forms name checked entities"
    access = access_for(entity, principal)
    if not (access.allows("create") or access.allows("update")):
        raise Forbidden(f"you may not fill in {entity.path} records")
    record = {name: _lenient(spec, values.get(name)) for name, spec in entity.fields.items()}
    record["id"] = values.get("id") if isinstance(values.get("id"), int) else None
    env = environment(conn, entity, principal)
    fields: dict[str, Any] = {}
    for section in definition.sections:
        for name in section.fields:
            spec = entity.fields[name]
            conditions = compiled.fields.get(name, {})

            def holds(condition: str, otherwise: bool) -> bool:
                expression = conditions.get(condition)  # noqa: B023 - used at once, in this loop
                return expression.test(record, env) if expression else otherwise

            state = FieldState(
                visible=holds("visible", True),
                readonly=spec.computed is not None or holds("readonly", False),
                required=spec.computed is None and holds("required", spec.required),
            )
            fields[name] = state.__dict__
    sections = [
        compiled.sections[i].test(record, env) if i in compiled.sections else True
        for i in range(len(definition.sections))
    ]
    return {"fields": fields, "sections": sections}


def _lenient(spec: Any, value: Any) -> Any:
    try:
        return convert(spec, value)
    except ConversionError:
        return None
