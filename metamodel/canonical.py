"""Canonical form: defaults stripped, keys in a stable order, so diffs and hashes mean something."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml
from pydantic import BaseModel

LEADING_KEYS = ("name", "type")


def canonical(model: BaseModel) -> dict[str, Any]:
    """The definition as JSON data with every default left out, `name` and `type` first."""
    return _lead(model.model_dump(mode="json", exclude_defaults=True, by_alias=True))


def _lead(value: Any) -> Any:
    if isinstance(value, dict):
        first = {k: _lead(value[k]) for k in LEADING_KEYS if k in value}
        return first | {k: _lead(v) for k, v in value.items() if k not in first}
    if isinstance(value, list):
        return [_lead(item) for item in value]
    return value


def canonical_json(content: Any) -> str:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def canonical_yaml(content: Any, width: int = 100) -> str:
    """Canonical content as the YAML a person would write: keys in canonical order, Chinese
    unescaped (what the studio edits, the auditor compares and `run.py export` writes)."""
    return yaml.safe_dump(content, allow_unicode=True, sort_keys=False, width=width)


def content_hash(content: Any) -> str:
    """SHA-256 of the canonical JSON text."""
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()
