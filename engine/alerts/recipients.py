"""Who an alert goes to, resolved as flow tasks resolve their assignees
(`engine.flows.approvals.role_holders`): a role's active holders in the record's
organisation or one above it, the username a string field holds, or the usernames an
expression gives. Role holders are looked up once per organisation within a scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.alerts.rules import CompiledRule
from engine.auth.tables import org_table as orgs
from engine.expressions import Environment
from engine.expressions.alert_expressions import Path, recipient_paths
from engine.flows.approvals import role_holders
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
        self._paths: dict[int, str | None] = {}
        self._env: Environment | None = None
        self._by_org: dict[tuple[Any, bool], list[str]] = {}
        paths = recipient_paths(rule.definition)
        self._entries = [(p, e) for p, e in paths if p[0] != "escalation"]
        self._escalation = [(p, e) for p, e in paths if p[0] == "escalation"]
        self._roles_only = {
            escalation: all(e.role is not None for _, e in entries)
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

    def _resolve(self, path: Path, entry: Recipients, record: dict[str, Any]) -> list[str]:
        if entry.role is not None:
            return self._role(entry.role, record.get("org_id"))
        if entry.field is not None:
            value = record.get(entry.field)
            return [str(value)] if value else []
        expression = self.rule.expressions.recipients.get(path + ("expression",))
        if expression is None:
            return []
        value = expression.evaluate(record, self._environment())
        if value is None:
            return []
        return [str(v) for v in value if v] if isinstance(value, list) else [str(value)]

    def _role(self, role: str, org_id: int | None) -> list[str]:
        self.load_org_paths([org_id])
        org_path = self._paths.get(org_id) if org_id is not None else None
        key = (role, org_path)
        if key not in self._holders:
            self._holders[key] = role_holders(self.conn, role, org_path)
        return self._holders[key]

    def _environment(self) -> Environment:
        if self._env is None:
            self._env = environment(self.conn, self.rule.entity, SYSTEM, {}, self.now)
        return self._env
