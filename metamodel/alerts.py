"""Alert rules: `alerts/<name>.yaml`, a condition over the records of one entity.

A scan runs the condition as one SQL query, opens one alert per rule and matching record
(never two open at once), resolves the alerts whose record no longer matches, escalates
those left unhandled, and tells the recipients through their channels. See docs/alerts.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from metamodel.fields import Expression, Name, Strict
from metamodel.flows import Recipients
from metamodel.labels import Labels
from metamodel.messages import Channel, MessageTemplate
from metamodel.reports import EntityName

Severity = Literal["yellow", "orange", "red"]
Family = Literal[
    "project",
    "unit",
    "rent",
    "contract",
    "subsidy",
    "tenant_credit",
    "enterprise_credit",
    "supplier",
    "other",
]
Interval = Annotated[str, Field(pattern=r"^[1-9][0-9]*(m|h|d)$")]
"""`15m`, `1h`, `1d`."""
Cron = Annotated[str, Field(pattern=r"^\S+( \S+){4}$")]
"""Five fields, minute hour day-of-month month day-of-week, in the settings' time zone."""


class Schedule(Strict):
    """When the rule is scanned: `every` an interval, or at `cron` times. With `on_change`,
    a write to a record of the entity also checks that record at once."""

    every: Interval | None = None
    cron: Cron | None = None
    on_change: bool = False

    @model_validator(mode="after")
    def _some(self) -> Schedule:
        if self.every and self.cron:
            raise ValueError("give every or cron, not both")
        if not (self.every or self.cron or self.on_change):
            raise ValueError("give every, cron or on_change")
        return self


class Message(Strict):
    """Sandboxed Jinja2 per language, reading `record`, `labels`, `rule`, `severity`, `today`
    and `now`."""

    title: Annotated[Labels, Field(min_length=1)]
    body: Labels = {}


class AlertMessage(Message):
    """An alert rule's message: a `title` and `body` of its own, or `template`, the name of
    a `messages/<name>.yaml` of the rule's app."""

    title: Labels = {}
    template: Name | None = None

    @model_validator(mode="after")
    def _one_text(self) -> AlertMessage:
        if (self.template is None) == (not self.title):
            raise ValueError("give title (and body), or template")
        if self.template is not None and self.body:
            raise ValueError("a template says the body; give body only with title")
        return self


class Escalation(Strict):
    """An alert still open or only acknowledged `after_days` after it opened goes up to
    `severity` and is sent again, also to `recipients`."""

    after_days: Annotated[int, Field(ge=1, le=365)]
    severity: Severity = "red"
    recipients: list[Recipients] = []


class AlertRule(Strict):
    name: Name
    label: Labels = {}
    description: Labels = {}
    family: Family = "other"
    entity: EntityName
    """The target entity: this app's, or `app.entity`."""
    condition: Expression
    """When it holds for a record, the record is alerted; SQL-expressible."""
    severity: Severity = "yellow"
    schedule: Schedule = Schedule(every="1h")
    message: AlertMessage
    recipients: Annotated[list[Recipients], Field(min_length=1)]
    channels: Annotated[list[Channel], Field(min_length=1)] = ["in_app"]
    auto_resolve: bool = True
    """Resolve an open alert by itself when its record no longer matches."""
    escalation: Escalation | None = None
    as_of: Name | None = None
    """A date or datetime field that says since when a record matches, for backtests on a
    past date; without it a backtest can only use the record's current values."""
    enabled: bool = True

    def with_template(self, template: MessageTemplate) -> AlertRule:
        """The rule as scans send it: its message template's title and body written in."""
        message = AlertMessage(title=template.title, body=template.body)
        return self.model_copy(update={"message": message})
