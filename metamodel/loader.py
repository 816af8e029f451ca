"""Loading definitions: JSON Schema → pydantic → semantic checks → canonical form.

Every stage collects all of its errors before giving up, so one `run.py check` shows a
configurator everything to fix, each error with file, line and path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from metamodel import reports
from metamodel.alerts import AlertRule
from metamodel.canonical import canonical
from metamodel.checks import check_definitions
from metamodel.definitions import AppDefinitions, Definitions, Key
from metamodel.devices import DeviceRule, DeviceType
from metamodel.errors import DefinitionError, DefinitionsInvalid, join_path
from metamodel.fields import FIELD_TYPES, NAME_PATTERN, PLUGIN, PluginField, PluginFieldType
from metamodel.flows import Flow
from metamodel.kinds import KIND_FOLDERS, KIND_MODELS
from metamodel.messages import MessageTemplate
from metamodel.models import App, Calendar, Entity, Form, Roles
from metamodel.sources import SourceText, parse_text
from metamodel.templates import Template

SUFFIXES = (".yaml", ".yml", ".json")
Report = Callable[[Key, tuple[Any, ...], str], DefinitionError]
ExtraCheck = Callable[[Definitions, Report], list[DefinitionError]]
FieldTypes = Mapping[str, PluginFieldType]
NO_PLUGIN_TYPES: FieldTypes = MappingProxyType({})


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


def build_definitions(
    documents: list[Document],
    checks: Sequence[ExtraCheck] = (),
    field_types: FieldTypes | None = NO_PLUGIN_TYPES,
) -> Definitions:
    """Check documents through every stage and return them parsed and canonical.

    `checks` run after the metamodel's own, for what only the engine can judge (expressions).
    `field_types` are the types plugins registered (none by default): a field of any other
    type is an error, and each plugin field is bound to its type. None, for tools that read
    definitions without an app instance, checks no plugin type and binds none (such fields
    then refuse every value).
    """
    errors: list[DefinitionError] = []
    models: dict[Key, BaseModel] = {}
    plugin_types = None if field_types is None else tuple(sorted(field_types))
    for doc in documents:
        model = _validate(doc, errors, plugin_types)
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

        if field_types is not None:
            _bind_plugin_fields(definitions, field_types)
            errors.extend(_plugin_default_problems(definitions, report))
        errors.extend(check_definitions(_as_checked(definitions), report))
        for extra in checks if not errors else ():
            errors.extend(extra(definitions, report))
    if errors:
        raise DefinitionsInvalid(errors)
    return definitions


def _validate(
    doc: Document, errors: list[DefinitionError], plugin_types: Sequence[str] | None
) -> BaseModel | None:
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
    found = _schema_errors(doc.kind, data, plugin_types)
    if doc.kind == "entity":  # a well-formed type no plugin adds passes the schema
        found = list(dict.fromkeys(found + _unknown_plugin_types(data, plugin_types)))
    if found:
        errors.extend(doc.error(path, message) for path, message in found)
        return None
    try:
        return KIND_MODELS[doc.kind].model_validate(data)
    except ValidationError as exc:
        errors.extend(doc.error(_model_path(e["loc"]), e["msg"]) for e in exc.errors())
        return None


def _unknown_plugin_types(
    data: dict[str, Any], plugin_types: Sequence[str] | None
) -> list[tuple[tuple[Any, ...], str]]:
    """The fields of an entity whose type is neither built in nor added by a plugin."""
    fields = data.get("fields")
    if plugin_types is None or not isinstance(fields, dict):
        return []
    return [
        (("fields", name, "type"), unknown_type_message(spec["type"], plugin_types))
        for name, spec in fields.items()
        if isinstance(spec, dict)
        and isinstance(spec.get("type"), str)
        and spec["type"] not in (*FIELD_TYPES, *plugin_types)
    ]


def _model_path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic error location as a definition path: without `[key]`, nor the tag of the
    field model the union chose (`fields.rent.decimal.scale` is `fields.rent.scale`)."""
    parts = [p for p in loc if p != "[key]"]
    if len(parts) > 2 and parts[0] == "fields" and parts[2] in (*FIELD_TYPES, PLUGIN):
        del parts[2]
    return tuple(parts)


def unknown_type_message(type_name: Any, plugin_types: Sequence[str] | None) -> str:
    """`unknown field type 'x'; expected one of string, …, or a type a plugin adds: …`."""
    expected = f"unknown field type {type_name!r}; expected one of {', '.join(FIELD_TYPES)}"
    if plugin_types is None:
        return f"{expected}, or a type a plugin adds"
    if not plugin_types:
        return f"{expected} (no loaded plugin adds field types)"
    return f"{expected}, or a type a loaded plugin adds: {', '.join(plugin_types)}"


def _is_plugin_type(type_name: Any, plugin_types: Sequence[str] | None) -> bool:
    """Whether `type_name` names a plugin's type (any well-formed name when they are unknown)."""
    if not isinstance(type_name, str) or type_name in FIELD_TYPES:
        return False
    if plugin_types is not None:
        return type_name in plugin_types
    return len(type_name) <= 40 and re.fullmatch(NAME_PATTERN, type_name) is not None


def _bind_plugin_fields(definitions: Definitions, field_types: FieldTypes) -> None:
    """Bind every plugin field to its registered type (`PluginField.bound`); names are
    checked already."""
    for bundle in definitions.apps.values():
        for name, entity in bundle.entities.items():
            fields = {
                field_name: spec.bound(field_types[spec.type])
                if isinstance(spec, PluginField)
                else spec
                for field_name, spec in entity.fields.items()
            }
            if fields != entity.fields:
                bundle.entities[name] = entity.model_copy(update={"fields": fields})


def _plugin_default_problems(definitions: Definitions, report: Report) -> list[DefinitionError]:
    """A plugin field's default must be a valid value, written as the type stores it."""
    errors = []
    for app_name, entity in definitions.entities():
        for name, spec in entity.fields.items():
            if not isinstance(spec, PluginField) or spec.default is None:
                continue
            try:
                stored = spec.normalize(spec.default)
            except ValueError as exc:
                problem = str(exc)
            else:
                if stored == spec.default:
                    continue
                problem = f"write it as it is stored: {stored!r}"
            key, path = (app_name, "entity", entity.name), ("fields", name, "default")
            errors.append(report(key, path, problem))
    return errors


def _as_checked(definitions: Definitions) -> Definitions:
    """The definitions as the metamodel's checks see them: plugin fields as string fields
    (`PluginField.as_string_field`), which is how the engine stores and searches them."""
    apps = {}
    for app_name, bundle in definitions.apps.items():
        entities = {}
        for name, entity in bundle.entities.items():
            fields = {
                field_name: spec.as_string_field() if isinstance(spec, PluginField) else spec
                for field_name, spec in entity.fields.items()
            }
            entities[name] = entity.model_copy(update={"fields": fields})
        apps[app_name] = replace(bundle, entities=entities)
    return Definitions(apps=apps, contents=definitions.contents)


@cache
def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (2020-12) of one kind of definition, as exported to `docs/schema/`."""
    schema = KIND_MODELS[kind].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema(kind))


def _schema_errors(
    kind: str, data: Any, plugin_types: Sequence[str] | None = None
) -> list[tuple[tuple[Any, ...], str]]:
    """Structural errors as (path, message), most specific first."""
    root = json_schema(kind)
    found = [
        leaf
        for error in _validator(kind).iter_errors(data)
        for leaf in _narrow(error, root, plugin_types)
    ]
    return sorted(found, key=lambda found: [str(p) for p in found[0]])


def _narrow(
    error: jsonschema.ValidationError, root: dict[str, Any], plugin_types: Sequence[str] | None
) -> list[tuple[tuple[Any, ...], str]]:
    """For a field (a `oneOf` by `type`), report the errors of the branch its type selects:
    its own, or a plugin field's for a type a plugin adds."""
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
        type_name = instance.get("type")
        if type_name in FIELD_TYPES and type_name in branches:
            selected = branches[type_name]
        elif PLUGIN in branches and _is_plugin_type(type_name, plugin_types):
            selected = branches[PLUGIN]
        else:
            return [(path + ("type",), unknown_type_message(type_name, plugin_types))]
        chosen = [e for e in error.context if e.schema_path[0] == selected]
        return [leaf for e in chosen for leaf in _narrow(e, root, plugin_types)]
    keyed = _branch_by_keys(error, root)
    if keyed is not None:
        chosen = [e for e in error.context if e.schema_path[0] == keyed]
        return [leaf for e in chosen for leaf in _narrow(e, root, plugin_types)]
    best = jsonschema.exceptions.best_match(error.context)
    if best is None:
        return [(path, _schema_message(error))]
    return _narrow(best, root, plugin_types)


def _branch_by_keys(error: jsonschema.ValidationError, root: dict[str, Any]) -> int | None:
    """The one branch of a union of objects whose required keys the mapping all has (a flow
    action by its `notify`, `set`, … key), whose errors are then the ones to report."""
    if not isinstance(error.instance, dict):
        return None
    matching = []
    for n, branch in enumerate(error.validator_value):
        ref = branch.get("$ref")
        if ref:
            branch = root.get("$defs", {}).get(ref.rsplit("/", 1)[-1], {})
        required = branch.get("required")
        if required and all(key in error.instance for key in required):
            matching.append(n)
    return matching[0] if len(matching) == 1 else None


def _branch_type(branch: dict[str, Any], root: dict[str, Any]) -> Any:
    """The `type` a branch of a union stands for; `PLUGIN` for the plugin field's branch."""
    ref = branch.get("$ref")
    if ref:
        branch = root.get("$defs", {}).get(ref.rsplit("/", 1)[-1], {})
    type_schema = branch.get("properties", {}).get("type", {})
    return PLUGIN if "not" in type_schema else type_schema.get("const")


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
        elif isinstance(model, MessageTemplate):
            bundle.messages[name] = model
        elif isinstance(model, reports.Report):
            bundle.reports[name] = model
        elif isinstance(model, reports.Dashboard):
            bundle.dashboards[name] = model
        elif isinstance(model, AlertRule):
            bundle.alerts[name] = model
        elif isinstance(model, DeviceType):
            bundle.device_types[name] = model
        elif isinstance(model, DeviceRule):
            bundle.device_rules[name] = model
        contents[key] = canonical(model)
    return Definitions(apps=dict(sorted(apps.items())), contents=dict(sorted(contents.items())))
