"""Loading definitions: JSON Schema → pydantic → semantic checks → canonical form.

Every stage collects all of its errors before giving up, so one `run.py check` shows a
configurator everything to fix, each error with file, line and path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from metamodel.canonical import canonical
from metamodel.checks import check_definitions
from metamodel.definitions import AppDefinitions, Definitions, Key
from metamodel.errors import DefinitionError, DefinitionsInvalid, join_path
from metamodel.fields import FIELD_TYPES
from metamodel.flows import Flow
from metamodel.kinds import KIND_FOLDERS, KIND_MODELS
from metamodel.models import App, Calendar, Entity, Form, Roles
from metamodel.sources import SourceText, parse_text
from metamodel.templates import Template

SUFFIXES = (".yaml", ".yml", ".json")
Report = Callable[[Key, tuple[Any, ...], str], DefinitionError]
ExtraCheck = Callable[[Definitions, Report], list[DefinitionError]]


@dataclass
class Document:
    """One definition as written, before checking: where it came from and its parsed text."""

    app: str
    kind: str
    name: str
    file: str
    source: SourceText

    @property
    def key(self) -> Key:
        return (self.app, self.kind, self.name)

    def error(self, path: tuple[Any, ...], message: str) -> DefinitionError:
        return DefinitionError(self.file, join_path(path), message, self.source.line_of(path))


def display_file(app: str, kind: str, name: str) -> str:
    """The file a definition lives in, relative to `apps_config/`."""
    if kind == "app":
        return f"{app}/app.yaml"
    if kind == "roles":
        return f"{app}/roles.yaml"
    return f"{app}/{KIND_FOLDERS[kind]}/{name}.yaml"


def read_folder(root: Path) -> list[Document]:
    """Read every definition file under `root` (one folder per app)."""
    documents: list[Document] = []
    errors: list[DefinitionError] = []
    if not root.is_dir():
        raise DefinitionsInvalid([DefinitionError(str(root), "", "definitions folder not found")])
    for app_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(app_dir.rglob("*")):
            if path.is_dir() or path.name.startswith(".") or path.suffix == ".py":
                continue
            rel = path.relative_to(root).as_posix()
            kind_name = _kind_of(path.relative_to(app_dir))
            if kind_name is None:
                errors.append(DefinitionError(rel, "", _unknown_file_message()))
                continue
            try:
                source = parse_text(path.read_text(encoding="utf-8"), rel)
            except DefinitionsInvalid as exc:
                errors.extend(exc.errors)
                continue
            kind, name = kind_name
            documents.append(Document(app_dir.name, kind, name, rel, source))
    if errors:
        raise DefinitionsInvalid(errors)
    return documents


def _kind_of(rel: Path) -> tuple[str, str] | None:
    if rel.suffix not in SUFFIXES:
        return None
    parts = rel.parts
    if len(parts) == 1 and rel.stem in ("app", "roles"):
        return rel.stem, rel.stem if rel.stem == "roles" else ""
    for kind, folder in KIND_FOLDERS.items():
        if len(parts) == 2 and parts[0] == folder:
            return kind, rel.stem
    return None


def _unknown_file_message() -> str:
    folders = ", ".join(f"{folder}/" for folder in KIND_FOLDERS.values())
    return f"not a definition file; expected app.yaml, roles.yaml or a file in {folders}"


def document_from_content(app: str, kind: str, name: str, content: Any, lines=None) -> Document:
    """A stored or submitted definition, named as the file it would be written to."""
    return Document(
        app, kind, name, display_file(app, kind, name), SourceText(content, lines or {})
    )


def build_definitions(documents: list[Document], checks: Sequence[ExtraCheck] = ()) -> Definitions:
    """Check documents through every stage and return them parsed and canonical.

    `checks` run after the metamodel's own, for what only the engine can judge (expressions).
    """
    errors: list[DefinitionError] = []
    models: dict[Key, BaseModel] = {}
    for doc in documents:
        model = _validate(doc, errors)
        if model is not None:
            if doc.kind == "app":
                doc.name = doc.app
            if doc.key in models:
                errors.append(doc.error((), f"{doc.kind} {doc.name!r} is defined twice"))
            models[doc.key] = model
    if errors:
        raise DefinitionsInvalid(errors)
    definitions = _assemble(models, {doc.key: doc for doc in documents}, errors)
    if not errors:
        by_key = {doc.key: doc for doc in documents}

        def report(key: Key, path: tuple[Any, ...], message: str) -> DefinitionError:
            return by_key[key].error(path, message)

        errors.extend(check_definitions(definitions, report))
        for extra in checks if not errors else ():
            errors.extend(extra(definitions, report))
    if errors:
        raise DefinitionsInvalid(errors)
    return definitions


def _validate(doc: Document, errors: list[DefinitionError]) -> BaseModel | None:
    data = doc.source.data
    if not isinstance(data, dict):
        errors.append(doc.error((), "expected a mapping of keys to values"))
        return None
    if doc.kind not in ("app", "roles"):
        data = {"name": doc.name, **data}
        if data["name"] != doc.name:
            errors.append(
                doc.error(
                    ("name",), f"name {data['name']!r} differs from the file name {doc.name!r}"
                )
            )
            return None
    if doc.kind == "app":
        data = {"name": doc.app, **data}
        if data["name"] != doc.app:
            errors.append(
                doc.error(("name",), f"name {data['name']!r} differs from the folder {doc.app!r}")
            )
            return None
    schema_errors = [doc.error(path, message) for path, message in _schema_errors(doc.kind, data)]
    if schema_errors:
        errors.extend(schema_errors)
        return None
    try:
        return KIND_MODELS[doc.kind].model_validate(data)
    except ValidationError as exc:
        errors.extend(
            doc.error(tuple(p for p in e["loc"] if p != "[key]"), e["msg"]) for e in exc.errors()
        )
        return None


@cache
def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (2020-12) of one kind of definition, as exported to `docs/schema/`."""
    schema = KIND_MODELS[kind].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema(kind))


def _schema_errors(kind: str, data: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Structural errors as (path, message), most specific first."""
    root = json_schema(kind)
    found = [leaf for error in _validator(kind).iter_errors(data) for leaf in _narrow(error, root)]
    return sorted(found, key=lambda found: [str(p) for p in found[0]])


def _narrow(
    error: jsonschema.ValidationError, root: dict[str, Any]
) -> list[tuple[tuple[Any, ...], str]]:
    """For a field (a `oneOf` by `type`), report the errors of the branch its type selects."""
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = [key for key in error.instance if key not in allowed]
        hint = f"allowed keys: {', '.join(allowed)}"
        return [(path + (key,), f"unknown key {key!r}; {hint}") for key in unknown]
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [(path, _schema_message(error))]
    instance = error.instance
    branches = {_branch_type(branch, root): n for n, branch in enumerate(error.validator_value)}
    if isinstance(instance, dict) and None not in branches:
        if instance.get("type") not in branches:
            return [
                (
                    path + ("type",),
                    f"unknown field type {instance.get('type')!r}; "
                    f"expected one of {', '.join(FIELD_TYPES)}",
                )
            ]
        chosen = [e for e in error.context if e.schema_path[0] == branches[instance["type"]]]
        return [leaf for e in chosen for leaf in _narrow(e, root)]
    best = jsonschema.exceptions.best_match(error.context)
    return _narrow(best, root) if best is not None else [(path, _schema_message(error))]


def _branch_type(branch: dict[str, Any], root: dict[str, Any]) -> Any:
    ref = branch.get("$ref")
    if ref:
        branch = root.get("$defs", {}).get(ref.rsplit("/", 1)[-1], {})
    return branch.get("properties", {}).get("type", {}).get("const")


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    return error.message


def _assemble(
    models: dict[Key, BaseModel], docs: dict[Key, Document], errors: list[DefinitionError]
) -> Definitions:
    apps: dict[str, AppDefinitions] = {}
    for (app_name, kind, _), model in models.items():
        if kind == "app":
            assert isinstance(model, App)
            apps[app_name] = AppDefinitions(app=model)
    contents: dict[Key, dict[str, Any]] = {}
    for key, model in models.items():
        app_name, kind, name = key
        bundle = apps.get(app_name)
        if bundle is None:
            errors.append(docs[key].error((), f"app {app_name!r} has no app.yaml"))
            continue
        if isinstance(model, Entity):
            bundle.entities[name] = model
        elif isinstance(model, Form):
            bundle.forms[name] = model
        elif isinstance(model, Roles):
            bundle.roles = model
        elif isinstance(model, Calendar):
            bundle.calendars[name] = model
        elif isinstance(model, Flow):
            bundle.flows[name] = model
        elif isinstance(model, Template):
            bundle.templates[name] = model
        contents[key] = canonical(model)
    return Definitions(apps=dict(sorted(apps.items())), contents=dict(sorted(contents.items())))
