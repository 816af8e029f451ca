"""The shared draft: definitions changed but not yet published, each checked as it is stored."""

from __future__ import annotations

from typing import Any

from engine.database import write_transaction
from engine.errors import NotFound
from engine.expressions.definitions import load_definitions
from engine.publishing import Contents, draft_contents, invalid_definitions
from engine.runtime import Runtime
from metamodel import store
from metamodel.definitions import Key
from metamodel.errors import DefinitionsInvalid
from metamodel.kinds import KIND_MODELS
from metamodel.loader import Document, display_file, document_from_content
from metamodel.sources import parse_text


def check_key(app: str, kind: str, name: str) -> Key:
    if kind not in KIND_MODELS:
        raise NotFound(f"no definition kind {kind!r}; kinds are {', '.join(KIND_MODELS)}")
    if kind == "app" and name != app:
        raise NotFound(f"the app definition of {app!r} is named {app!r}")
    if kind == "roles" and name != "roles":
        raise NotFound("the roles definition is named 'roles'")
    return (app, kind, name)


def put_definition(
    runtime: Runtime, key: Key, text: str, is_json: bool, author: str
) -> dict[str, Any]:
    """Store one definition in the draft if the whole draft still checks; else a 422 with
    every error, lines counted in the submitted text."""
    file = display_file(*key)
    try:
        source = parse_text(text, file.removesuffix(".yaml") + ".json" if is_json else file)
    except DefinitionsInvalid as exc:
        raise invalid_definitions(exc) from None
    submitted = Document(*key, file, source)
    with write_transaction(runtime.engine) as conn:  # reads the draft, then writes it
        contents = draft_contents(conn, runtime.catalog())
        content = _checked(runtime, contents, key, submitted)
        store.put_draft(conn, key, content, author)
    return content


def remove_definition(runtime: Runtime, key: Key, author: str) -> None:
    """Mark a definition (for an app: all of its definitions) as removed in the draft."""
    with write_transaction(runtime.engine) as conn:
        contents = draft_contents(conn, runtime.catalog())
        if key not in contents:
            raise NotFound(f"no definition {'/'.join(key)}")
        removed = [k for k in contents if k == key or (key[1] == "app" and k[0] == key[0])]
        remaining = {k: v for k, v in contents.items() if k not in removed}
        _checked(runtime, remaining, None, None)
        for gone in removed:
            store.put_draft(conn, gone, None, author)


def _checked(
    runtime: Runtime, contents: Contents, key: Key | None, submitted: Document | None
) -> dict[str, Any]:
    """The draft checked as a whole, with the functions and field types plugins add."""
    documents = [document_from_content(*k, c) for k, c in contents.items() if k != key]
    if submitted is not None:
        documents.append(submitted)
    try:
        extensions = runtime.extensions
        definitions = load_definitions(documents, extensions.functions, extensions.field_types)
    except DefinitionsInvalid as exc:
        raise invalid_definitions(exc) from None
    return definitions.contents[key] if key else {}
