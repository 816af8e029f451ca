"""What one definitions version changed: per definition, the canonical YAML of both versions
side by side, and the semantic diff's changed paths.

The text diff is what an auditor reads line by line; the semantic diff names what the change
means (`fields.deposit` added), so neither hides behind the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import zip_longest
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.errors import NotFound
from metamodel import store
from metamodel.canonical import canonical_yaml
from metamodel.definitions import Key
from metamodel.diff import Change, DefinitionChange, diff_contents
from renderers.html.audit_texts import text
from renderers.html.audit_versions import VersionSummary, version_summary
from renderers.html.chrome import Chrome

CONTEXT_LINES = 3  # unchanged lines kept around each change; longer runs fold into a gap
VALUE_LIMIT = 80  # characters of an old or new value shown beside a changed path
MARKERS = {"same": " ", "del": "−", "add": "+", "chg": "~"}
DEFINITION_CHANGES = ("added", "removed", "modified")


@dataclass(frozen=True)
class DiffLine:
    """One line of one side: its 1-based number in that version's text, and the line."""

    number: int
    text: str


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff. `kind` is `same` (both sides equal), `del` (old side
    only), `add` (new side only), `chg` (both sides, different) or `gap` (`skipped`
    unchanged lines folded away)."""

    kind: str
    old: DiffLine | None = None
    new: DiffLine | None = None
    skipped: int = 0

    @property
    def marker(self) -> str:
        return MARKERS.get(self.kind, "")


@dataclass(frozen=True)
class PathChange:
    """One entry of the semantic diff, values as compact JSON cut to `VALUE_LIMIT`."""

    path: str
    change: str  # added | removed | modified | reordered
    old: str
    new: str


@dataclass(frozen=True)
class DefinitionDiff:
    """One added, removed or modified definition, e.g. `estate` / `entity` / `unit`."""

    app: str
    kind: str
    name: str
    change: str  # added | removed | modified
    paths: list[PathChange]
    rows: list[DiffRow]

    @property
    def anchor(self) -> str:
        return f"definition-{self.app}-{self.kind}-{self.name}"


@dataclass(frozen=True)
class DiffPage:
    """`GET /audit/versions/{n}`: what `version` changed against `base` (None for the
    first version, when everything is new). `choices` are the versions to compare with."""

    chrome: Chrome
    version: VersionSummary
    base: VersionSummary | None
    heading: str
    compared_with: str
    summary: str
    definitions: list[DefinitionDiff]
    choices: list[int]
    old_label: str
    new_label: str


def definition_text(content: dict[str, Any] | None) -> str:
    """One side of a diff: the canonical YAML, or the empty text where there was none."""
    return "" if content is None else canonical_yaml(content)


def side_by_side(old_text: str, new_text: str, context: int = CONTEXT_LINES) -> list[DiffRow]:
    """Align two texts line by line: removed lines on the left only, added on the right
    only, replaced lines paired as changed; runs of unchanged lines beyond `context` lines
    from a change fold into one `gap` row."""
    old, new = old_text.splitlines(), new_text.splitlines()
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    rows: list[DiffRow] = []
    shown = 0  # old lines before this one are shown or folded
    for group in matcher.get_grouped_opcodes(context):
        first = group[0][1]
        if first > shown:
            rows.append(DiffRow("gap", skipped=first - shown))
        for tag, i1, i2, j1, j2 in group:
            rows.extend(_rows(tag, old, new, (i1, i2), (j1, j2)))
        shown = group[-1][2]
    if rows and shown < len(old):
        rows.append(DiffRow("gap", skipped=len(old) - shown))
    return rows


def _rows(
    tag: str, old: list[str], new: list[str], left: tuple[int, int], right: tuple[int, int]
) -> list[DiffRow]:
    olds = [DiffLine(n + 1, old[n]) for n in range(*left)]
    news = [DiffLine(n + 1, new[n]) for n in range(*right)]
    if tag == "equal":
        return [DiffRow("same", o, n) for o, n in zip(olds, news, strict=True)]
    return [
        DiffRow("chg" if o and n else "del" if o else "add", o, n)
        for o, n in zip_longest(olds, news)
    ]


def definition_diff(
    change: DefinitionChange, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> DefinitionDiff:
    return DefinitionDiff(
        app=change.app,
        kind=change.kind,
        name=change.name,
        change=change.change,
        paths=[path_change(c) for c in change.changes],
        rows=side_by_side(definition_text(old), definition_text(new)),
    )


def diff_page(
    conn: sa.Connection, chrome: Chrome, number: int, against: int | None, zone: ZoneInfo
) -> DiffPage:
    """Version `number` against version `against`, by default the version it was published
    on (none for the first); NotFound if either does not exist."""
    info = _version(conn, number)
    base_number = info.parent if against is None else against
    base = _version(conn, base_number) if base_number is not None else None
    new = store.read_contents(conn, number)
    old = store.read_contents(conn, base.version) if base else {}
    changes = diff_contents(old, new)
    texts = chrome.texts
    counts = {kind: sum(c.change == kind for c in changes) for kind in DEFINITION_CHANGES}
    return DiffPage(
        chrome=chrome,
        version=version_summary(info, zone),
        base=version_summary(base, zone) if base else None,
        heading=text(texts, "diff_title", n=number),
        compared_with=(
            text(texts, "diff_against", n=base.version) if base else texts["diff_against_nothing"]
        ),
        summary=text(texts, "summary_counts", **counts),
        definitions=[definition_diff(c, old.get(_key(c)), new.get(_key(c))) for c in changes],
        choices=[v.version for v in store.list_versions(conn) if v.version != number][::-1],
        old_label=_side_label(texts, "old_side", base.version if base else None),
        new_label=_side_label(texts, "new_side", number),
    )


def _version(conn: sa.Connection, number: int) -> store.VersionInfo:
    info = store.get_version(conn, number)
    if info is None:
        raise NotFound(f"no definitions version {number}")
    return info


def _key(change: DefinitionChange) -> Key:
    return (change.app, change.kind, change.name)


def _side_label(texts: dict[str, str], key: str, number: int | None) -> str:
    name = texts["nothing"] if number is None else f"{texts['version']} {number}"
    return text(texts, key, name=name)


def path_change(change: Change, limit: int | None = VALUE_LIMIT) -> PathChange:
    """One semantic change for people: the values it replaced and put, each cut at `limit`
    characters (None: whole, as the studio shows a draft's change before publishing)."""
    shows_old = change.change in ("removed", "modified", "reordered")
    shows_new = change.change in ("added", "modified", "reordered")
    return PathChange(
        path=change.path or "/",
        change=change.change,
        old=_compact(change.old, limit) if shows_old else "",
        new=_compact(change.new, limit) if shows_new else "",
    )


def _compact(value: Any, limit: int | None) -> str:
    """A value on one line: text as it is, the rest as JSON (keeping Chinese readable)."""
    if isinstance(value, str):
        shown = value
    else:
        shown = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return shown if limit is None or len(shown) <= limit else shown[: limit - 1] + "…"
