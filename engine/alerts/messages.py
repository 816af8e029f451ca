"""An alert's title and body, rendered from the rule's sandboxed Jinja2 templates in both
languages: the alert row keeps Chinese and English, so each reader sees their own.

Templates read `record` (the record's stored values), `labels` and `options` (field and
enum labels), `rule` (the rule's label), `severity`, `today` and `now`. A template that fails
on a record (a filter given a null) never stops a scan: the alert gets the rule's label and
the record's title instead, which still says what and where.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.alerts.rules import CompiledRule, template_globals
from engine.flows.documents import document_context
from metamodel.labels import pick

log = logging.getLogger("anju.alerts")
TITLE_LENGTH = 255


@dataclass(frozen=True)
class AlertText:
    title: str
    body: str
    title_en: str
    body_en: str

    def for_language(self, language: str) -> tuple[str, str]:
        if language == "en":
            return self.title_en, self.body_en
        return self.title, self.body


class MessageRenderer:
    """Renders one rule's messages for many records; the labels are looked up once."""

    def __init__(self, rule: CompiledRule, now: datetime) -> None:
        self.rule = rule
        self.base = {}
        for language in ("zh", "en"):
            context = {**template_globals(), **document_context(rule.entity, {}, {}, language, now)}
            context["rule"] = pick(rule.definition.label, language, rule.name)
            self.base[language] = context

    def render(self, record: dict[str, Any], severity: str) -> AlertText:
        """The alert's texts in zh and en for `record`."""
        texts = {}
        for language in ("zh", "en"):
            context = {**self.base[language], "record": record, "severity": severity}
            try:
                title, body = self.rule.render(language, context)
                title, body = title.strip(), body.strip()
            except Exception as exc:  # a template failing on this record: fall back, say why
                log.warning(
                    "alert %s: message failed for record %s: %s",
                    self.rule.key,
                    record.get("id"),
                    exc,
                )
                title, body = "", ""
            texts[language] = (title or fallback_title(self.rule, record, language), body)
        return AlertText(
            texts["zh"][0][:TITLE_LENGTH],
            texts["zh"][1],
            texts["en"][0][:TITLE_LENGTH],
            texts["en"][1],
        )


def fallback_title(rule: CompiledRule, record: dict[str, Any], language: str) -> str:
    title_field = rule.entity.definition.title_field
    shown = record.get(title_field) if title_field else None
    return f"{pick(rule.definition.label, language, rule.name)}: {shown or record.get('id')}"


def notification_text(text: AlertText, escalated: bool = False) -> tuple[str, str]:
    """A notification's subject and body: the recipient's language is not known, so the
    subject is Chinese and the body carries both languages."""
    subject = f"【升级】{text.title}" if escalated else text.title
    english = f"Escalated: {text.title_en}" if escalated else text.title_en
    parts = [text.body, "", english, text.body_en] if text.body else [english, text.body_en]
    return subject[:TITLE_LENGTH], "\n".join(p for p in parts if p is not None).strip()
