"""`ActionContext`: what a plugin's flow action (`{call: name, with: {…}}`) may do, inside the
transition's transaction. Everything it writes is checked like any write, audited as the
system acting for the user who took the transition, and rolled back with the transition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.errors import Conflict, NotFound
from engine.principal import Principal
from engine.records.sealing import blind_filter, unseal
from engine.validation import validate_input

if TYPE_CHECKING:
    from engine.flows.moves import Move


@dataclass
class ActionContext:
    """The record in its move, the action's evaluated `with` arguments, and helpers to read
    and write other records. `set` changes the moving record; `create`, `update`, `find` and
    `get` work on any entity by its `app.entity` path."""

    move: Move
    args: dict[str, Any]
    action: str

    @property
    def record(self) -> dict[str, Any]:
        """The moving record as it will be written (a copy: change it with `set`)."""
        return dict(self.move.record)

    @property
    def record_id(self) -> int:
        return self.move.record_id

    @property
    def path(self) -> str:
        return self.move.entity.path

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.move.flow.params)

    @property
    def now(self) -> datetime:
        return self.move.now

    @property
    def today(self) -> date:
        return self.move.environment().today

    @property
    def actor(self) -> Principal:
        return self.move.actor

    @property
    def conn(self) -> sa.Connection:
        return self.move.conn

    def set(self, name: str, value: Any) -> None:
        """Set a field of the moving record (checked against the field's type)."""
        from engine.flows.actions import fit_value

        if name not in self.move.entity.fields:
            raise Conflict(f"{self.action}: {self.path} has no field {name!r}")
        self.move.set(name, fit_value(self.move, name, value))

    def entity(self, path: str) -> CompiledEntity:
        catalog = self.move.entity.catalog
        assert catalog is not None, "entities belong to a catalog"
        app, _, name = path.partition(".")
        found = catalog.entity(app, name)
        if found is None:
            raise Conflict(f"{self.action}: there is no entity {path!r}")
        return found

    def get(self, path: str, record_id: int) -> dict[str, Any] | None:
        """One record of `path` in clear, or None."""
        entity = self.entity(path)
        row = self.conn.execute(entity.table.select().where(entity.table.c.id == record_id))
        found = row.mappings().first()
        return unseal(entity, dict(found)) if found is not None else None

    def find(
        self, path: str, order_by: tuple[str, ...] = ("id",), **equal: Any
    ) -> list[dict[str, Any]]:
        """The records of `path` whose fields equal the values given (a list or tuple means
        any of them), sensitive fields compared through their blind index."""
        entity = self.entity(path)
        table = entity.table
        query = table.select()
        for name, value in equal.items():
            if name not in table.c:
                raise Conflict(f"{self.action}: {path} has no field {name!r}")
            many = isinstance(value, list | tuple)
            if name in entity.sensitive_fields:
                query = query.where(blind_filter(entity, name, "in" if many else "eq", value))
            elif many:
                query = query.where(table.c[name].in_(list(value)))
            else:
                query = query.where(table.c[name] == value)
        query = query.order_by(*(table.c[name] for name in order_by))
        return [unseal(entity, dict(row)) for row in self.conn.execute(query).mappings()]

    def create(self, path: str, values: dict[str, Any]) -> int:
        """Create a record of `path` as the system acting for the user: validated like any
        create (defaults, computed fields, rules, references, uniqueness), audited, and
        started in its flow if it has one."""
        from engine.permissions import RecordAccess
        from engine.records.writing import insert_record

        entity = self.entity(path)
        checked, sent = validate_input(
            entity.create_model, {k: _plain(v) for k, v in values.items()}
        )
        access = RecordAccess(entity, self._system(), unrestricted=True)
        return insert_record(
            self.conn, entity, checked, sent, self._system(), access, self.move.language
        )

    def update(self, path: str, record_id: int, values: dict[str, Any]) -> None:
        """Change fields of a record of `path` as the system acting for the user: checked like
        any update (types, computed fields, rules, references, uniqueness, its organisation),
        audited and heard by the change listeners, as a flow's `update` action writes."""
        from engine.flows.updates import checked_changes, write_update

        entity = self.entity(path)
        if self.get(path, record_id) is None:
            raise NotFound(f"{path} {record_id} not found")
        changes = checked_changes(entity, record_id, {k: _plain(v) for k, v in values.items()})
        write_update(self.move, entity, record_id, changes)

    def _system(self) -> Principal:
        return replace(self.actor, roles=("system",), assignments=())


def _plain(value: Any) -> Any:
    """A value as a client would send it (dates as ISO text) for the input models."""
    return value.isoformat() if hasattr(value, "isoformat") else value
