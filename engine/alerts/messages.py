"""An alert's title and body, rendered from the rule's sandboxed Jinja2 templates in both
languages: the alert row keeps Chinese and English, so each reader sees their own.

Templates read `record` (the record's stored values), `labels` and `options` (field and
enum labels), `rule` (the rule's label), `severity`, `today` and `now`. A template that fails
on a record (a filter given a null) never stops a scan: the alert gets the rule's label and
the record's title instead, which still says what and where.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, NamedTuple

from engine.alerts.plain_templates import PlainTemplate, plain_template
from engine.alerts.rules import PART_SEPARATOR, CompiledRule, template_globals
from engine.flows.documents import document_context
from metamodel.labels import LANGUAGES, pick

log = logging.getLogger("anju.alerts")
TITLE_LENGTH = 255


class AlertText(NamedTuple):
    """An alert's title and body in zh and en (a named tuple: a scan makes tens of
    thousands)."""

    title: str
    body: str
    title_en: str
    body_en: str

    def for_language(self, language: str) -> tuple[str, str]:
        if language == "en":
            return self.title_en, self.body_en
        return self.title, self.body


class MessageRenderer:
    """Renders one rule's messages for many records; the labels are looked up once, and
    templates that only put values into text are rendered without Jinja2, both languages
    in one call (`plain_templates`)."""

    def __init__(self, rule: CompiledRule, now: datetime) -> None:
        self.rule = rule
        self.base = {}
        for language in LANGUAGES:
            context = {**template_globals(), **document_context(rule.entity, {}, {}, language, now)}
            context["rule"] = pick(rule.definition.label, language, rule.name)
            self.base[language] = context
        self._plain: dict[str, PlainTemplate | None] = {}  # by severity

    def render(self, record: dict[str, Any], severity: str) -> AlertText:
        """The alert's texts in zh and en for `record`."""
        plain = self._plain_template(severity)
        if plain is None:
            zh_title, zh_body = self._render_jinja("zh", record, severity)
            en_title, en_body = self._render_jinja("en", record, severity)
        else:
            zh_title, zh_body, en_title, en_body = plain.render(record).split(PART_SEPARATOR)
        zh_title, en_title = zh_title.strip(), en_title.strip()
        return AlertText(
            (zh_title or fallback_title(self.rule, record, "zh"))[:TITLE_LENGTH],
            zh_body.strip(),
            (en_title or fallback_title(self.rule, record, "en"))[:TITLE_LENGTH],
            en_body.strip(),
        )

    def variants(self, record: dict[str, Any], severity: str) -> dict[str, AlertText]:
        """The texts of each channel the rule's message template gives words of its own
        (an SMS's short text), for `record`; a variant that fails on the record is left out,
        so that channel sends the alert's title and body."""
        found = {}
        for channel in dict.fromkeys(channel for channel, _ in self.rule.variants):
            context = {"record": record, "severity": severity}
            try:
                zh = self.rule.render_variant(channel, "zh", {**self.base["zh"], **context})
                en = self.rule.render_variant(channel, "en", {**self.base["en"], **context})
            except Exception as exc:  # as a failing title: the scan goes on, the log says why
                log.warning(
                    "alert %s: %s text failed for record %s: %s",
                    self.rule.key,
                    channel,
                    record.get("id"),
                    exc,
                )
                continue
            if zh is not None and en is not None:
                texts = [part.strip() for part in (*zh, *en)]
                found[channel] = AlertText(*texts)
        return found

    def _render_jinja(
        self, language: str, record: dict[str, Any], severity: str
    ) -> tuple[str, str]:
        context = {**self.base[language], "record": record, "severity": severity}
        try:
            return self.rule.render(language, context)
        except Exception as exc:  # a template failing on this record: fall back, say why
            log.warning(
                "alert %s: message failed for record %s: %s", self.rule.key, record.get("id"), exc
            )
            return "", ""

    def _plain_template(self, severity: str) -> PlainTemplate | None:
        """Both languages' title and body as one plain template, parts split by
        PART_SEPARATOR; None if any of them needs Jinja2."""
        if severity not in self._plain:
            message = self.rule.definition.message
            constants = {lang: {**self.base[lang], "severity": severity} for lang in LANGUAGES}
            parts = [
                plain_template(pick(source, language), constants[language])
                for language in LANGUAGES
                for source in (message.title, message.body)
            ]
            plain = [p for p in parts if p is not None and PART_SEPARATOR not in p.pattern]
            self._plain[severity] = (
                PlainTemplate(
                    PART_SEPARATOR.join(p.pattern for p in plain),
                    tuple(f for p in plain for f in p.fields),
                )
                if len(plain) == len(parts)
                else None
            )
        return self._plain[severity]


def fallback_title(rule: CompiledRule, record: dict[str, Any], language: str) -> str:
    title_field = rule.entity.definition.title_field
    shown = record.get(title_field) if title_field else None
    return f"{pick(rule.definition.label, language, rule.name)}: {shown or record.get('id')}"


def channel_text(channel: str, text: AlertText, escalated: bool = False) -> tuple[str, str]:
    """What `channel` sends of `text`: an SMS its Chinese text alone (kept short on
    purpose), any other channel a notification's subject and body."""
    if channel == "sms":
        return "", f"【升级】{text.body}" if escalated else text.body
    return notification_text(text, escalated)


def notification_text(text: AlertText, escalated: bool = False) -> tuple[str, str]:
    """A notification's subject and body: the recipient's language is not known, so the
    subject is Chinese and the body carries both languages."""
    subject = f"【升级】{text.title}" if escalated else text.title
    english = f"Escalated: {text.title_en}" if escalated else text.title_en
    parts = [text.body, "", english, text.body_en] if text.body else [english, text.body_en]
    return subject[:TITLE_LENGTH], "\n".join(p for p in parts if p is not None).strip()
