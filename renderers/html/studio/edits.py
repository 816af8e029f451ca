"""The field editor's changes to definition data: add a field to an entity, change a field's
label or an enum's options, move a form's field. Plain functions on the stored JSON, so they
are testable without a database; the engine checks the result when it is stored as the draft.

    add_field(unit, NewField(name="deposit", type="decimal"), field_types=FIELD_TYPES)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from metamodel.fields import NAME_PATTERN
from metamodel.models import EXPRESSION_WORDS, SYSTEM_COLUMNS
from renderers.html.list_page import DEFAULT_COLUMNS, LONG_TYPES

NAME = re.compile(NAME_PATTERN)
Content = dict[str, Any]


class EditRefused(Exception):
    """The inputs at fault, each with the word key (in `words.TEXTS`) that says why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{name}: {key}" for name, key in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class NewField:
    """The "add a field" form as typed; `forms` are the forms to append the field to."""

    name: str = ""
    type: str = "string"
    label_zh: str = ""
    label_en: str = ""
    required: bool = False
    max_length: str = ""
    options: str = ""
    entity: str = ""
    forms: tuple[str, ...] = ()
    in_list: bool = False  # also a column of the entity's list screen


def add_field(content: Content, new: NewField, field_types: Collection[str]) -> Content:
    """`content` (an entity) with the field appended; refuses a taken or malformed name and
    options or lengths that do not read."""
    errors: dict[str, str] = {}
    fields = content.get("fields", {})
    if not NAME.fullmatch(new.name) or len(new.name) > 40:
        errors["name"] = "bad_name"
    elif new.name in fields:
        errors["name"] = "name_taken"
    elif new.name in SYSTEM_COLUMNS or new.name in EXPRESSION_WORDS:
        errors["name"] = "name_reserved"
    if new.type not in field_types:
        errors["type"] = "type_unknown"
    spec: Content = {"type": new.type}
    label = _labels(new.label_zh, new.label_en)
    if label:
        spec["label"] = label
    if new.required:
        spec["required"] = True
    if new.type == "string" and new.max_length.strip():
        length = new.max_length.strip()
        if not length.isdigit() or not 1 <= int(length) <= 10_000:
            errors["max_length"] = "bad_max_length"
        else:
            spec["max_length"] = int(length)
    if new.type == "enum":
        try:
            spec["options"] = parse_options(new.options)
        except EditRefused as exc:
            errors.update(exc.errors)
    if new.type == "reference":
        if not new.entity:
            errors["entity"] = "entity_needed"
        spec["entity"] = new.entity
    if errors:
        raise EditRefused(errors)
    changed = copy.deepcopy(content)
    changed.setdefault("fields", {})[new.name] = spec
    return append_to_list(changed, new.name) if new.in_list else changed


def append_to_list(content: Content, field: str) -> Content:
    """`content` (an entity) with `field` as the last column of its list screen. Without
    `list_fields`, the columns the screen showed by default are written out first, so the
    others stay where they were."""
    columns = list(content.get("list_fields") or default_list_fields(content))
    if field not in columns:
        columns.append(field)
    return {**content, "list_fields": columns}


def default_list_fields(content: Content) -> list[str]:
    """The list screen's columns when an entity names none (docs/definitions.md)."""
    title = content.get("title_field")
    others = [
        name
        for name, spec in content.get("fields", {}).items()
        if name != title and spec.get("type") not in LONG_TYPES
    ]
    return ([title] if title else []) + others[:DEFAULT_COLUMNS]


def relabel_field(
    content: Content, field: str, label_zh: str, label_en: str, options: str | None = None
) -> Content:
    """`content` with the field's label (and, for an enum given `options`, its options) set."""
    if field not in content.get("fields", {}):
        raise EditRefused({"field": "no_such_field"})
    changed = copy.deepcopy(content)
    spec = changed["fields"][field]
    label = _labels(label_zh, label_en)
    if label:
        spec["label"] = label
    else:
        spec.pop("label", None)
    if options is not None and spec.get("type") == "enum":
        spec["options"] = parse_options(options)
    return changed


def move_field(content: Content, field: str, direction: str, section: int | None = None) -> Content:
    """`content` (a form) with `field` one place `up` or `down` in its section, or at the
    end of section number `section` (`direction` "section")."""
    sections = content.get("sections", [])
    where = next(
        ((i, s["fields"].index(field)) for i, s in enumerate(sections) if field in s["fields"]),
        None,
    )
    if where is None:
        raise EditRefused({"field": "no_such_field"})
    changed = copy.deepcopy(content)
    index, position = where
    names: list[str] = changed["sections"][index]["fields"]
    if direction in ("up", "down"):
        other = position - 1 if direction == "up" else position + 1
        if 0 <= other < len(names):
            names[position], names[other] = names[other], names[position]
        return changed
    if section is None or not 0 <= section < len(sections):
        raise EditRefused({"section": "bad_section"})
    if section == index:
        return changed
    if len(names) == 1:
        raise EditRefused({"section": "last_in_section"})
    names.remove(field)
    changed["sections"][section]["fields"].append(field)
    return changed


def append_to_form(content: Content, field: str) -> Content:
    """`content` (a form) with `field` at the end of its last section, unless already in."""
    if any(field in section["fields"] for section in content.get("sections", [])):
        return content
    changed = copy.deepcopy(content)
    changed["sections"][-1]["fields"].append(field)
    return changed


def parse_options(text: str) -> list[Content]:
    """Enum options from lines `value=中文|English` (labels optional)."""
    options: list[Content] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        value, _, labels = line.partition("=")
        value = value.strip()
        if not value or len(value) > 64:
            raise EditRefused({"options": "bad_option"})
        if any(option["value"] == value for option in options):
            raise EditRefused({"options": "duplicate_option"})
        zh, _, en = labels.partition("|")
        option: Content = {"value": value}
        label = _labels(zh, en)
        if label:
            option["label"] = label
        options.append(option)
    if not options:
        raise EditRefused({"options": "options_needed"})
    return options


def options_text(options: list[Content]) -> str:
    """Enum options as the lines `parse_options` reads."""
    lines = []
    for option in options:
        label = option.get("label") or {}
        if isinstance(label, str):
            label = {"zh": label}
        zh, en = label.get("zh", ""), label.get("en", "")
        text = f"{zh}|{en}" if en else zh
        lines.append(f"{option['value']}={text}" if text else str(option["value"]))
    return "\n".join(lines)


def _labels(zh: str, en: str) -> dict[str, str]:
    return {lang: text.strip() for lang, text in (("zh", zh), ("en", en)) if text.strip()}
