"""Definition models: App, Entity, Form and Roles, each one YAML/JSON file in an app folder."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from metamodel.fields import FieldDefinition, Name, Strict
from metamodel.labels import Labels

RESERVED_NAMES = frozenset({"api", "meta", "auth", "studio", "audit", "inbox", "static", "-"})
SYSTEM_COLUMNS = (
    "id",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "row_version",
    "org_id",
    "def_version",
    "state",
)


class App(Strict):
    """`app.yaml`: one housing app, such as public rental housing."""

    name: Name
    label: Labels = {}
    description: Labels = {}
    order: int = 100


class Index(Strict):
    fields: Annotated[list[str], Field(min_length=1)]
    unique: bool = False


class Entity(Strict):
    """`entities/<name>.yaml`: a kind of record, served as one SQL table and one API resource."""

    name: Name
    label: Labels = {}
    description: Labels = {}
    fields: Annotated[dict[Name, FieldDefinition], Field(min_length=1)]
    indexes: list[Index] = []
    title_field: str | None = None
    search_fields: list[str] = []
    default_sort: list[str] = []


class FormSection(Strict):
    title: Labels = {}
    columns: int = Field(default=1, ge=1, le=4)
    fields: Annotated[list[str], Field(min_length=1)]


class Form(Strict):
    """`forms/<name>.yaml`: how an entity's fields are laid out on a screen."""

    name: Name
    entity: str
    label: Labels = {}
    sections: Annotated[list[FormSection], Field(min_length=1)]


class Role(Strict):
    label: Labels = {}
    description: Labels = {}


class Roles(Strict):
    """`roles.yaml`: the roles an app knows; permissions attach to them in a later version."""

    name: Literal["roles"] = "roles"
    roles: dict[Name, Role] = {}


KIND_MODELS: dict[str, type[BaseModel]] = {
    "app": App,
    "entity": Entity,
    "form": Form,
    "roles": Roles,
}
KIND_FOLDERS = {"entity": "entities", "form": "forms"}
