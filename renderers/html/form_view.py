"""The record form's view model: sections of field widgets, each with its label, kind,
value, options, state (visible, read-only, required) and error; built by
`renderers.html.widgets.build_form_view` and rendered by `_form_body.html`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.forms import FieldState
from renderers.html.form_input import CHECKED

WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "choose": "请选择",
        "yes": "是",
        "no": "否",
        "computed": "由系统自动计算",
        "masked": "已脱敏显示，不能修改",
        "current_file": "当前文件",
        "replace_file": "选择新文件可替换当前文件",
        "search_in": "搜索",
        "fix_these": "请修改以下问题：",
        "is_required": "必填",
    },
    "en": {
        "choose": "Choose…",
        "yes": "Yes",
        "no": "No",
        "computed": "Computed by the system",
        "masked": "Shown masked; it cannot be changed here",
        "current_file": "Current file",
        "replace_file": "Choose a new file to replace it",
        "search_in": "Search",
        "fix_these": "Please correct the following:",
        "is_required": "is required",
    },
}
TEXT_KINDS = frozenset({"text", "textarea", "json", "number", "date", "datetime"})


@dataclass(frozen=True)
class Option:
    """One choice of a select; `selected` when it is the field's value."""

    value: str
    label: str
    selected: bool = False


@dataclass(frozen=True)
class FieldWidget:
    """One input of the form. `kind` picks its markup: text, textarea, json, number, date,
    datetime, checkbox, select (enum, optional yes/no), reference (a search box and a select
    of records) or file. `value` is the text the input holds (for a file, the id of the file
    kept); `note` says why a field cannot be changed (computed, masked)."""

    name: str
    label: str
    kind: str
    value: str
    state: FieldState
    error: str = ""
    help: str = ""
    note: str = ""
    options: tuple[Option, ...] = ()
    maxlength: int | None = None
    step: str = ""
    minimum: str = ""
    maximum: str = ""
    accept: str = ""
    pick_url: str = ""
    file_url: str = ""

    @property
    def input_id(self) -> str:
        return f"field-{self.name}"

    @property
    def error_id(self) -> str:
        return f"error-{self.name}"

    @property
    def checked(self) -> bool:
        return self.value in CHECKED

    @property
    def locks_by_disabling(self) -> bool:
        """Selects, boxes and file inputs have no read-only mode: they are disabled."""
        return self.kind not in TEXT_KINDS

    @property
    def described_by(self) -> str:
        """The ids of the help text and the error, for `aria-describedby`."""
        ids = [f"help-{self.name}"] if self.help or self.note else []
        return " ".join([*ids, self.error_id] if self.error else ids)


@dataclass(frozen=True)
class SectionView:
    """A section of the form: `columns` (1–4) widgets per row; `index` names it on the page
    (`section-<index>`) so its visibility can change as the user types."""

    index: int
    title: str
    columns: int
    rows: tuple[tuple[FieldWidget, ...], ...]
    visible: bool

    @property
    def widgets(self) -> list[FieldWidget]:
        return [widget for row in self.rows for widget in row]


@dataclass(frozen=True)
class FormView:
    """The body of a record form: sections of widgets, the messages not tied to a field
    shown on the form (`errors`), whether its conditions re-evaluate as the user types
    (`live`), whether it uploads files (`multipart`), and its own words (`texts`)."""

    app: str
    entity: str
    form_name: str | None
    title: str
    sections: tuple[SectionView, ...]
    errors: tuple[str, ...]
    live: bool
    multipart: bool
    texts: dict[str, str]

    @property
    def widgets(self) -> dict[str, FieldWidget]:
        return {w.name: w for section in self.sections for w in section.widgets}

    def states(self) -> dict[str, Any]:
        """The state of every field and section, in the JSON API's form state shape."""
        fields = {
            name: {
                "visible": widget.state.visible,
                "readonly": widget.state.readonly,
                "required": widget.state.required,
            }
            for name, widget in self.widgets.items()
        }
        return {"fields": fields, "sections": [section.visible for section in self.sections]}
