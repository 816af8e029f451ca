"""Report results kept in memory, and the data watermark that tells when they are stale.

A result is keyed by the catalog version, the report, its parameters, today's date, the
caller's scope signature and the watermark of every table the report reads. Every write
path bumps its entity's counter in `anju_data_version` (see `engine.records.changes`), so a
write moves the key and the next run recomputes; nothing is ever invalidated by hand. A hit
costs one indexed read of a few watermark rows.

The cache lives in `catalog.cache`: one per app instance and catalog version, dropped with
the catalog when definitions are published.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog
from engine.principal import Principal
from engine.records.changes import data_versions
from engine.reports.compiled import CompiledReport
from metamodel.models import SCOPE_WORDS

CACHE_SIZE = 256
USER_FREE_SCOPES = ("all", "org", "org_subtree")  # scopes that do not read the user's name


def watermark(conn: sa.Connection, entity_paths: Sequence[str]) -> tuple[int, ...]:
    """The data version of each entity ("app.entity"), 0 for one never written."""
    query = sa.select(data_versions.c.entity, data_versions.c.version).where(
        data_versions.c.entity.in_(list(entity_paths))
    )
    found = {entity: version for entity, version in conn.execute(query).all()}
    return tuple(int(found.get(path, 0)) for path in entity_paths)


class ResultCache:
    """A bounded, thread-safe LRU of report results."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def result_cache(catalog: Catalog) -> ResultCache:
    """The catalog's cache of report results."""
    found: ResultCache = catalog.cache.setdefault(("reports", "results"), ResultCache())
    return found


def scope_signature(report: CompiledReport, principal: Principal) -> tuple[Any, ...]:
    """What decides which rows and fields the caller sees: its roles in their organisations,
    and its name when a scope of the source reads it (`own`, an expression)."""
    if principal.is_superuser:
        return ("*",)
    held = principal.held_roles()
    signature: tuple[Any, ...] = tuple(
        sorted((a.role, a.org_id or 0, a.org_path or "") for a in held)
    )
    grants = report.source.definition.permissions
    scopes = [s for a in held if a.role in grants for s in grants[a.role].scopes]
    if any(s not in USER_FREE_SCOPES for s in scopes) or any(s not in SCOPE_WORDS for s in scopes):
        signature += (principal.username,)
    return signature
