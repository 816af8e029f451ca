"""The test definitions folder: one app `estate` with buildings, units, meters and inspections.

Every test that needs definitions starts from `estate()` (a fresh, mutable copy), changes what
it needs, and writes it with `write_folder`. Entities of the folder:

- `building`: `name` required, `code` unique.
- `unit`: one field of every type; `building` references a building with `on_delete: restrict`.
- `meter`: `building` reference with `on_delete: cascade`.
- `inspection`: `unit` reference with `on_delete: set_null`.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

APP = "estate"
Folder = dict[str, dict[str, Any]]

_ESTATE: Folder = {
    "estate/app.yaml": {"label": {"zh": "物业", "en": "Estate"}, "order": 5},
    "estate/roles.yaml": {"roles": {"manager": {"label": {"zh": "经理", "en": "Manager"}}}},
    "estate/entities/building.yaml": {
        "label": {"zh": "楼栋", "en": "Building"},
        "fields": {
            "name": {"type": "string", "required": True, "max_length": 100},
            "code": {"type": "string", "unique": True, "max_length": 20},
        },
        "title_field": "name",
        "search_fields": ["name", "code"],
    },
    "estate/entities/unit.yaml": {
        "label": {"zh": "房屋", "en": "Unit"},
        "fields": {
            "code": {
                "type": "string",
                "required": True,
                "unique": True,
                "max_length": 20,
                "pattern": "^[A-Z]-[0-9]+$",
            },
            "rent": {"type": "decimal", "scale": 2, "min": 0},
            "area": {"type": "decimal"},
            "floor": {"type": "integer", "min": -3, "max": 60},
            "status": {
                "type": "enum",
                "options": [
                    {"value": "vacant", "label": {"zh": "空置", "en": "Vacant"}},
                    {"value": "let", "label": {"zh": "已租", "en": "Let"}},
                ],
            },
            "building": {"type": "reference", "entity": "building", "on_delete": "restrict"},
            "let_on": {"type": "date"},
            "checked_at": {"type": "datetime"},
            "notes": {"type": "text"},
            "extras": {"type": "json"},
            "photo": {"type": "file"},
            "active": {"type": "boolean", "default": True},
        },
        "title_field": "code",
        "search_fields": ["code", "notes"],
    },
    "estate/entities/meter.yaml": {
        "fields": {
            "serial": {"type": "string", "required": True},
            "building": {"type": "reference", "entity": "building", "on_delete": "cascade"},
        },
    },
    "estate/entities/inspection.yaml": {
        "fields": {
            "unit": {"type": "reference", "entity": "unit", "on_delete": "set_null"},
            "remark": {"type": "string"},
        },
    },
    "estate/forms/unit.yaml": {
        "entity": "unit",
        "label": "房屋",
        "sections": [
            {"title": {"en": "Unit"}, "columns": 2, "fields": ["code", "building", "floor"]},
            {"title": {"en": "Rent"}, "fields": ["rent", "status", "let_on"]},
        ],
    },
}


def estate() -> Folder:
    """A fresh copy of the estate folder, keyed by path relative to the definitions folder."""
    return copy.deepcopy(_ESTATE)


def entity(folder: Folder, name: str) -> dict[str, Any]:
    """The mutable definition of entity `name` in `folder`."""
    return folder[f"{APP}/entities/{name}.yaml"]


def to_yaml(content: dict[str, Any]) -> str:
    return yaml.safe_dump(content, sort_keys=False, allow_unicode=True)


def write_folder(root: Path, folder: Folder) -> Path:
    """Replace the folder at `root` with the definitions of `folder`, as YAML; return `root`."""
    if root.exists():
        shutil.rmtree(root)
    for relative, content in folder.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(content), encoding="utf-8")
    return root


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write definition files given as text (for tests about lines and malformed input)."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
