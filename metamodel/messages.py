"""Message templates: `messages/<name>.yaml`, what a flow's `notify` action or an alert rule
says, written once and sent on every channel.

A template has a title and a body per language and, where a channel wants its own words, a
short `sms` text and an `email` subject and body. Every text is sandboxed Jinja2 (not
HTML-escaped) reading what its user gives it: a flow reads `record`, `labels`, `options`,
`params`, `today` and `now`; an alert rule also `rule` and `severity`. See docs/definitions.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import Field, model_validator

from metamodel.fields import Name, Strict
from metamodel.labels import Labels

Channel = Literal["in_app", "sms", "email", "webhook"]
SMS_SEGMENT = 70  # characters of one SMS with Chinese text, the signature included
SMS_LONG_SEGMENT = 67  # characters per part of a longer SMS, each part billed as one
SMS_MAX = 500  # characters a gateway takes in one message at most
Problems = list[tuple[tuple[Any, ...], str]]
_parser = SandboxedEnvironment(autoescape=False)


class EmailText(Strict):
    """An e-mail's own subject and body, each in place of the template's title and body."""

    subject: Labels = {}
    body: Labels = {}

    @model_validator(mode="after")
    def _some(self) -> EmailText:
        if not (self.subject or self.body):
            raise ValueError("give subject, body or both")
        return self


class MessageTemplate(Strict):
    """`messages/<name>.yaml`: a title and body, with optional per-channel variants.

    `sms` replaces the title and body on SMS with one short text; `email` replaces the
    subject, the body or both on e-mail. In-app messages and webhooks send the title and
    body."""

    name: Name
    label: Labels = {}
    title: Annotated[Labels, Field(min_length=1)]
    body: Labels = {}
    sms: Labels = {}
    email: EmailText | None = None

    def channel_text(self, channel: str) -> tuple[Labels, Labels]:
        """The title and body `channel` sends, per language; the `sms` text is an SMS's
        body, with no title before it."""
        if channel == "sms" and self.sms:
            return {}, self.sms
        if channel == "email" and self.email is not None:
            return self.email.subject or self.title, self.email.body or self.body
        return self.title, self.body


def message_problems(template: MessageTemplate) -> Problems:
    """Every text of a template that does not parse as sandboxed Jinja2, and an SMS text
    whose fixed words alone are longer than a gateway takes."""
    found: Problems = []
    texts: list[tuple[tuple[Any, ...], Labels]] = [
        (("title",), template.title),
        (("body",), template.body),
        (("sms",), template.sms),
    ]
    if template.email is not None:
        texts += [(("email", "subject"), template.email.subject)]
        texts += [(("email", "body"), template.email.body)]
    for path, labels in texts:
        for language, source in labels.items():
            try:
                parsed = _parser.parse(source)
            except TemplateSyntaxError as exc:
                found.append((path + (language,), f"template line {exc.lineno}: {exc.message}"))
                continue
            fixed = fixed_length(parsed)
            if path == ("sms",) and fixed > SMS_MAX:
                message = f"{fixed} characters before any value is filled in; SMS take {SMS_MAX}"
                found.append((path + (language,), message))
    return found


def fixed_length(parsed: nodes.Template) -> int:
    """How many characters a template writes whatever its values: its text outside `{{ }}`
    and `{% %}`."""
    return sum(len(node.data) for node in parsed.find_all(nodes.TemplateData))
