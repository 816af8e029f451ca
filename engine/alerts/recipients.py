"""Who an alert goes to, resolved as flow tasks resolve their assignees
(`engine.flows.approvals.role_holders`): a role's active holders in the record's
organisation (or, with `org`, the one whose code that expression gives) or one above it,
the username a string field holds, or the usernames an expression gives. A role's holders
are read once within a scan, with the path of the organisation each holds it in, and
matched to each organisation in Python; an expression SQL can compute
(`household.created_by`, a look-up through a reference, the code of a project's operating
enterprise) is computed for a whole batch of records in one query rather than one look-up
per record, and the organisation codes a batch gives are looked up in one more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.alerts.many_rows import id_list
from engine.alerts.rules import CompiledRule
from engine.auth.tables import org_table as orgs
from engine.auth.tables import user_role_table as user_roles
from engine.auth.tables import user_table as users
from engine.expressions import Environment, Expression, NotExpressible, SqlContext
from engine.expressions.alert_expressions import Path, recipient_paths
from engine.principal import SYSTEM
from engine.records.evaluation import environment
from metamodel.flows import Recipients


class RecipientResolver:
    """Resolves one rule's recipients for many records in one transaction."""

    def __init__(self, conn: sa.Connection, rule: CompiledRule, now: datetime) -> None:
        self.conn = conn
        self.rule = rule
        self.now = now
        self._holders: dict[tuple[str, str | None], list[str]] = {}
        self._held: dict[str, list[tuple[str, str | None]]] = {}  # role: (username, org path)
        self._paths: dict[int, str | None] = {}
        self._coded: dict[str, str | None] = {}  # org code: its path
        self._env: Environment | None = None
        self._by_org: dict[tuple[Any, bool], list[str]] = {}
        self._computed: dict[tuple[int, Path], Any] = {}  # (record id, path): value
        paths = recipient_paths(rule.definition)
        self._entries = [(p, e) for p, e in paths if p[0] != "escalation"]
        self._escalation = [(p, e) for p, e in paths if p[0] == "escalation"]
        self._roles_only = {
            escalation: all(e.role is not None and e.org is None for _, e in entries)
            for escalation, entries in ((False, self._entries), (True, self._escalation))
        }

    def recipients(self, record: dict[str, Any], escalation: bool = False) -> list[str]:
        """The usernames for `record`: the rule's recipients, or with `escalation` the
        escalation's own."""
        entries = self._escalation if escalation else self._entries
        by_org = self._roles_only[escalation]
        key = (record.get("org_id"), escalation)
        if by_org and key in self._by_org:  # roles only: the same people for the same org
            return self._by_org[key]
        found: list[str] = []
        for path, entry in entries:
            found += self._resolve(path, entry, record)
        people = list(dict.fromkeys(u for u in found if u))
        if by_org:
            self._by_org[key] = people
        return people

    def load_org_paths(self, org_ids: Iterable[int | None]) -> None:
        """Read the paths of many organisations at once, before resolving their records."""
        wanted = {i for i in org_ids if i is not None and i not in self._paths}
        if wanted:
            query = sa.select(orgs.c.id, orgs.c.path).where(orgs.c.id.in_(wanted))
            self._paths.update({row.id: row.path for row in self.conn.execute(query)})
            self._paths.update({i: None for i in wanted if i not in self._paths})

    def load_org_codes(self, codes: Iterable[Any]) -> None:
        """Read the paths of the organisations many codes name at once (None for a code
        naming none)."""
        wanted = {str(c) for c in codes if c is not None and str(c) not in self._coded}
        if wanted:
            query = sa.select(orgs.c.code, orgs.c.path).where(orgs.c.code.in_(wanted))
            self._coded.update({row.code: row.path for row in self.conn.execute(query)})
            self._coded.update({c: None for c in wanted if c not in self._coded})

    def load_expressions(self, context: SqlContext, record_ids: Sequence[int]) -> None:
        """Compute in one query, for many records, the recipient expressions that give one
        username (or one organisation code) each and compile to SQL, and look the codes up;
        the others are evaluated record by record."""
        table = self.rule.table
        columns = {}
        for path, expression in self.rule.expressions.recipients.items():
            sql = _sql(expression, table, context) if expression.type.kind == "string" else None
            if sql is not None:
                columns[path] = sql
        if not columns or not record_ids:
            return
        query = sa.select(table.c.id, *columns.values()).where(
            table.c.id.in_(id_list(self.conn, record_ids))
        )
        for row in self.conn.execute(query):
            self._computed.update(((row[0], p), v) for p, v in zip(columns, row[1:], strict=True))
        self.load_org_codes(v for (_, p), v in self._computed.items() if p[-1] == "org")

    def _resolve(self, path: Path, entry: Recipients, record: dict[str, Any]) -> list[str]:
        if entry.role is not None and entry.org is not None:
            code = self._value(path + ("org",), record)
            if code is None:
                return []
            self.load_org_codes([code])
            org_path = self._coded[str(code)]
            return self._role(entry.role, org_path) if org_path is not None else []
        if entry.role is not None:
            org_id = record.get("org_id")
            self.load_org_paths([org_id])
            return self._role(entry.role, self._paths.get(org_id) if org_id is not None else None)
        if entry.field is not None:
            value = record.get(entry.field)
            return [str(value)] if value else []
        value = self._value(path + ("expression",), record)
        if value is None:
            return []
        return [str(v) for v in value if v] if isinstance(value, list) else [str(value)]

    def _value(self, key: Path, record: dict[str, Any]) -> Any:
        """What the recipient expression at `key` gives for `record`: computed with its batch
        when SQL could, else evaluated now."""
        expression = self.rule.expressions.recipients.get(key)
        if expression is None:
            return None
        computed = self._computed.get((record["id"], key), _NOT_COMPUTED)
        if computed is not _NOT_COMPUTED:
            return computed
        return expression.evaluate(record, self._environment())

    def _role(self, role: str, org_path: str | None) -> list[str]:
        """The role's holders in the organisation `org_path` names or one above it (every
        holder when it is None: a record belonging to no organisation)."""
        key = (role, org_path)
        if key not in self._holders:
            if role not in self._held:
                self._held[role] = _holders_with_paths(self.conn, role)
            self._holders[key] = sorted(
                {
                    username
                    for username, path in self._held[role]
                    if org_path is None or (path is not None and org_path.startswith(path))
                }
            )
        return self._holders[key]

    def _environment(self) -> Environment:
        if self._env is None:
            self._env = environment(self.conn, self.rule.entity, SYSTEM, {}, self.now)
        return self._env


_NOT_COMPUTED = object()


def _holders_with_paths(conn: sa.Connection, role: str) -> list[tuple[str, str | None]]:
    """Each active holder of `role` with the path of the organisation they hold it in (the
    user's own when the role names none), as `engine.flows.approvals.role_holders` reads
    them: a holder counts for that organisation and every one below it."""
    held_in = sa.func.coalesce(user_roles.c.org_id, users.c.org_id)
    query = (
        sa.select(users.c.username, orgs.c.path)
        .select_from(user_roles.join(users, users.c.id == user_roles.c.user_id))
        .outerjoin(orgs, orgs.c.id == held_in)
        .where(user_roles.c.role == role, users.c.active.is_(True))
    )
    return [(row[0], row[1]) for row in conn.execute(query)]


def _sql(
    expression: Expression, table: sa.Table, context: SqlContext
) -> sa.ColumnElement[Any] | None:
    try:
        return expression.sql(table, context)
    except NotExpressible:
        return None
