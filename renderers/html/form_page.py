"""The record form page around the form's body: heading, where it posts, where its
conditions are re-evaluated, the version being edited and a notice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from engine.catalog import Catalog, CompiledEntity
from engine.principal import Principal
from metamodel.labels import pick
from renderers.html.chrome import Chrome
from renderers.html.form_layout import Layout
from renderers.html.form_view import FormView
from renderers.html.values import title_of

TEXTS = {
    "zh": {
        "new_record": "新建{entity}",
        "edit_record": "编辑{entity} {title}",
        "changed_meanwhile": "保存前，此记录已被他人修改（现为第 {version} 版）。"
        "您填写的内容已保留：再次保存将以您的内容覆盖对方的修改；也可以取消后查看最新内容。",
    },
    "en": {
        "new_record": "New {entity}",
        "edit_record": "Edit {entity} {title}",
        "changed_meanwhile": "Someone else changed this record while you edited it (it is now "
        "version {version}). What you entered is kept: saving again replaces their changes "
        "with yours; or cancel to see the latest record.",
    },
}


@dataclass(frozen=True)
class Screen:
    """What every form request resolves first: the entity, its form, who asks, in which
    language, and whether the form was named (`?form=`)."""

    catalog: Catalog
    entity: CompiledEntity
    layout: Layout
    principal: Principal
    language: str
    form_asked: bool = False

    @property
    def base(self) -> str:
        return f"/{self.entity.app}/{self.entity.name}"

    @property
    def timezone(self) -> str:
        return self.catalog.options.timezone

    def heading(self, record: dict[str, Any] | None) -> str:
        words, definition = TEXTS[self.language], self.entity.definition
        label = pick(definition.label, self.language, definition.name)
        if record is None:
            return words["new_record"].format(entity=label)
        return words["edit_record"].format(entity=label, title=title_of(self.entity, record))

    def changed_meanwhile(self, record: dict[str, Any]) -> str:
        return TEXTS[self.language]["changed_meanwhile"].format(version=record["row_version"])


@dataclass(frozen=True)
class FormPage:
    """A record form: its body (`form`), where it posts (`action`), where its conditions are
    re-evaluated (`state_url`, empty when nothing re-evaluates), the version an edit was
    made on and a notice (someone else changed the record)."""

    chrome: Chrome
    form: FormView
    heading: str
    action: str
    state_url: str
    cancel_url: str
    row_version: str = ""
    notice: str = ""


def form_page(
    chrome: Chrome,
    screen: Screen,
    view: FormView,
    record: dict[str, Any] | None,
    notice: str = "",
) -> FormPage:
    """The page of a new record's form (`record` None) or of the form editing `record`."""
    own = "" if record is None else f"/{record['id']}"
    named = {"form": screen.layout.name} if screen.layout.name else {}
    asked = "?" + urlencode(named) if named and screen.form_asked else ""
    about = {**named, **({"id": record["id"]} if record else {})}
    return FormPage(
        chrome=chrome,
        form=view,
        heading=screen.heading(record),
        action=f"{screen.base}{own}/{'edit' if record else 'new'}{asked}",
        state_url=f"{screen.base}/form-state?{urlencode(about)}" if view.live else "",
        cancel_url=screen.base + own,
        row_version=str(record["row_version"]) if record else "",
        notice=notice,
    )
