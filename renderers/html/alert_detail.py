"""One alert as its page shows it: what it says, where it stands, the record it is about,
its timeline and deliveries, and a small form per action the user may take now.

Built from `get_alert`'s answer (the API's `GET /api/alerts/{id}`), without the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.alerts.statuses import actions_for
from engine.catalog import Catalog
from engine.principal import Principal
from metamodel.labels import pick
from renderers.html.alert_view import AlertRow, alert_row, word
from renderers.html.chrome import Chrome
from renderers.html.report_view import moment_text

ACTION_FIELDS = {"dispose": "opinion", "feedback": "feedback"}  # required text per action


@dataclass(frozen=True)
class TimelineEntry:
    at: str
    actor: str
    action: str
    comment: str


@dataclass(frozen=True)
class Delivery:
    channel: str
    recipient: str
    address: str
    status: str
    attempts: str
    sent_at: str
    error: str


@dataclass(frozen=True)
class ActionForm:
    """A lifecycle button with its text box: `field` is `opinion` (dispose), `feedback`, or
    `comment` (optional); `value` and `error` come back from a refused attempt."""

    name: str
    label: str
    field: str
    field_label: str
    required: bool
    value: str = ""
    error: str = ""

    @property
    def input_id(self) -> str:
        return f"action-{self.name}-{self.field}"


@dataclass(frozen=True)
class AlertPage:
    chrome: Chrome
    alert: AlertRow
    body: str
    rule_label: str
    record_label: str
    opinion: str
    feedback: str
    timeline: list[TimelineEntry]
    deliveries: list[Delivery]
    actions: list[ActionForm]
    notice: str = ""
    error: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)


def allowed_actions(alert: Mapping[str, Any], principal: Principal) -> list[str]:
    """The alert's `actions` for this caller (`get_alert` lists them: none for auditors or
    people who are not its recipients)."""
    if "actions" in alert:
        return [str(a) for a in alert["actions"]]
    return actions_for(str(alert.get("status"))) if principal.is_superuser else []


def alert_page(
    alert: Mapping[str, Any],
    catalog: Catalog,
    principal: Principal,
    chrome: Chrome,
    notice: str = "",
    error: str = "",
    failed: tuple[str, dict[str, str], list[dict[str, Any]]] | None = None,
) -> AlertPage:
    """`failed` is a refused action (its name, what was typed, the 422's details), shown
    beside its form with the text kept."""
    texts, language = chrome.texts, chrome.language
    timezone = catalog.options.timezone
    row = alert_row(alert, texts, timezone)
    forms = [_action_form(a, texts, failed) for a in allowed_actions(alert, principal)]
    return AlertPage(
        chrome=chrome,
        alert=row,
        body=str(alert.get("body") or ""),
        rule_label=str(alert.get("rule_label") or alert.get("rule") or ""),
        record_label=_record_label(catalog, alert, language),
        opinion=str(alert.get("opinion") or ""),
        feedback=str(alert.get("feedback") or ""),
        timeline=[_entry(e, texts, timezone) for e in alert.get("timeline") or []],
        deliveries=[_delivery(d, timezone) for d in alert.get("deliveries") or []],
        actions=forms,
        notice=notice,
        error=error,
        facts=_facts(alert, texts, timezone),
    )


def _action_form(
    name: str,
    texts: Mapping[str, str],
    failed: tuple[str, dict[str, str], list[dict[str, Any]]] | None,
) -> ActionForm:
    own = ACTION_FIELDS.get(name, "comment")
    value, error = "", ""
    if failed is not None and failed[0] == name:
        value = failed[1].get(own, "")
        messages = [str(d.get("message", "")) for d in failed[2]]
        error = next(
            (str(d.get("message", "")) for d in failed[2] if str(d.get("path", "")).endswith(own)),
            "; ".join(m for m in messages if m),
        )
    return ActionForm(
        name=name,
        label=texts[f"action_{name}"],
        field=own,
        field_label=texts[own],
        required=own != "comment",
        value=value,
        error=error,
    )


def _facts(
    alert: Mapping[str, Any], texts: Mapping[str, str], timezone: str
) -> list[tuple[str, str]]:
    """Who handled it when, for the steps it went through."""
    facts = []
    for step in ("acknowledged", "disposed", "resolved"):
        at = moment_text(alert.get(f"{step}_at"), timezone)
        if at:
            by = alert.get(f"{step}_by") or ""
            facts.append((texts[f"status_{step}"], f"{at} {by}".strip()))
    return facts


def _entry(event: Mapping[str, Any], texts: Mapping[str, str], timezone: str) -> TimelineEntry:
    return TimelineEntry(
        at=moment_text(event.get("at"), timezone),
        actor=str(event.get("actor") or ""),
        action=word(texts, "action", event.get("action")),
        comment=str(event.get("comment") or ""),
    )


def _delivery(item: Mapping[str, Any], timezone: str) -> Delivery:
    return Delivery(
        channel=str(item.get("channel") or ""),
        recipient=str(item.get("recipient") or ""),
        address=str(item.get("address") or ""),
        status=str(item.get("status") or ""),
        attempts=str(item.get("attempts") if item.get("attempts") is not None else ""),
        sent_at=moment_text(item.get("sent_at"), timezone),
        error=str(item.get("error") or ""),
    )


def _record_label(catalog: Catalog, alert: Mapping[str, Any], language: str) -> str:
    """The record's entity by its label, and its number."""
    name = str(alert.get("entity") or "")
    entity = catalog.entity(str(alert.get("entity_app") or ""), name)
    label = pick(entity.definition.label, language, name) if entity is not None else name
    return f"{label} #{alert.get('record_id')}"
