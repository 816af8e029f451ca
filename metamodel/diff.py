"""Semantic diff between two sets of definitions, per definition and per field."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from metamodel.definitions import Key
from metamodel.errors import join_path

MISSING: Any = object()


@dataclass(frozen=True)
class Change:
    """One changed value inside a definition, e.g. `fields.rent.min` from 0 to 1."""

    path: str
    change: str  # added | removed | modified | reordered
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class DefinitionChange:
    app: str
    kind: str
    name: str
    change: str  # added | removed | modified
    changes: list[Change] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def diff_contents(
    old: dict[Key, dict[str, Any]], new: dict[Key, dict[str, Any]]
) -> list[DefinitionChange]:
    """What changed from `old` to `new`, definitions in key order."""
    result: list[DefinitionChange] = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if before is None:
            result.append(DefinitionChange(*key, "added", _walk((), MISSING, after)))
        elif after is None:
            result.append(DefinitionChange(*key, "removed"))
        else:
            result.append(DefinitionChange(*key, "modified", _walk((), before, after)))
    return result


def _walk(path: tuple[Any, ...], old: Any, new: Any) -> list[Change]:
    if old == new:
        return []
    if old is MISSING:
        return [Change(join_path(path), "added", None, new)] if path else _walk(path, {}, new)
    if new is MISSING:
        return [Change(join_path(path), "removed", old, None)]
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            change
            for key in [*old, *(k for k in new if k not in old)]
            for change in _walk(path + (key,), old.get(key, MISSING), new.get(key, MISSING))
        ]
    if isinstance(old, list) and isinstance(new, list):
        keyed_old, keyed_new = _by_identity(old), _by_identity(new)
        if keyed_old is not None and keyed_new is not None:
            changes = _walk(path, keyed_old, keyed_new)
            if list(keyed_old) != list(keyed_new) and keyed_old.keys() == keyed_new.keys():
                changes.append(
                    Change(join_path(path), "reordered", list(keyed_old), list(keyed_new))
                )
            return changes
    return [Change(join_path(path), "modified", old, new)]


def _by_identity(items: list[Any]) -> dict[str, Any] | None:
    """Lists of named things (enum options) diff by name, not by position."""
    for identity in ("value", "name"):
        if items and all(isinstance(i, dict) and identity in i for i in items):
            keys = [str(i[identity]) for i in items]
            if len(set(keys)) == len(keys):
                return dict(zip(keys, items, strict=True))
    return None
