"""The configurator's studio at `/studio`: browse definitions, edit them as YAML or with the
field editor, preview a form, see the draft's diff and dry run, publish, and roll back.

Configurators change things; auditors may look; admin passes every check (the roles of
`/api/meta`). Every change goes through the engine calls the meta API uses.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from renderers.html.studio import (
    browse,
    changes,
    editor,
    field_changes,
    history,
    preview,
    publishing,
)

ROUTES: list[BaseRoute] = [
    *browse.ROUTES,
    *changes.ROUTES,
    *history.ROUTES,
    *publishing.ROUTES,
    *preview.ROUTES,
    *field_changes.ROUTES,
    *editor.ROUTES,
]
