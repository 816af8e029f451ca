"""A move in progress: one record going through one or more transitions inside one database
transaction, collecting its field changes, check results and timeline rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.catalog import CompiledEntity
from engine.expressions import Environment
from engine.flows.machine import CompiledFlow
from engine.principal import Principal
from engine.records.evaluation import environment


@dataclass
class Move:
    conn: sa.Connection
    entity: CompiledEntity
    flow: CompiledFlow
    record_id: int
    record: dict[str, Any]  # the record as it will be written, clear values
    actor: Principal
    now: datetime
    services: Any  # engine.flows.services.FlowServices
    language: str = "zh"
    comment: str | None = None
    changed: set[str] = field(default_factory=set)
    checks: dict[str, bool] = field(default_factory=dict)  # what guards read as `checks.<name>`
    check_results: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # timeline rows written
    moves: list[dict[str, Any]] = field(default_factory=list)  # what the audit entry lists
    hops: int = 0
    original: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.original = dict(self.record)

    @property
    def state(self) -> str:
        return str(self.record["state"])

    def environment(self) -> Environment:
        """Expressions of the flow see the record, the user, `params` and `checks`."""
        variables = {"params": self.flow.params, "checks": dict(self.checks)}
        return environment(self.conn, self.entity, self.actor, variables, self.now)

    def set(self, name: str, value: Any) -> None:
        if self.record.get(name) != value:
            self.record[name] = value
            self.changed.add(name)
