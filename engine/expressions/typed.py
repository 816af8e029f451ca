"""The checked tree: every node knows its type, paths know the entities they go through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.expressions.syntax import Node
from engine.expressions.types import Type

if TYPE_CHECKING:
    from engine.expressions.functions import Function


@dataclass(frozen=True)
class Step:
    """One field read on the way along a path: `entity` is "app.entity"."""

    entity: str
    field: str


@dataclass(frozen=True, eq=False)
class Typed:
    type: Type
    node: Node


@dataclass(frozen=True, eq=False)
class TLiteral(Typed):
    value: Any


@dataclass(frozen=True, eq=False)
class TList(Typed):
    items: tuple[Typed, ...]


@dataclass(frozen=True, eq=False)
class TField(Typed):
    """A field of the record, or through references (`household.size`): one step per name."""

    steps: tuple[Step, ...]


@dataclass(frozen=True, eq=False)
class TVariable(Typed):
    """A context variable (`today`, `now`, `user`, `input`), with one attribute if dotted."""

    name: str
    attribute: str | None = None


@dataclass(frozen=True, eq=False)
class TNot(Typed):
    operand: Typed


@dataclass(frozen=True, eq=False)
class TNegate(Typed):
    operand: Typed


@dataclass(frozen=True, eq=False)
class TLogic(Typed):
    operator: str  # "and" | "or"
    operands: tuple[Typed, ...]


@dataclass(frozen=True, eq=False)
class TCompare(Typed):
    operator: str  # == != < <= > >=
    left: Typed
    right: Typed


@dataclass(frozen=True, eq=False)
class TIn(Typed):
    item: Typed
    collection: Typed
    negated: bool


@dataclass(frozen=True, eq=False)
class TArithmetic(Typed):
    operator: str  # + - * / %
    left: Typed
    right: Typed


@dataclass(frozen=True, eq=False)
class TIf(Typed):
    condition: Typed
    then: Typed
    otherwise: Typed


@dataclass(frozen=True, eq=False)
class TCoalesce(Typed):
    args: tuple[Typed, ...]


@dataclass(frozen=True, eq=False)
class TCall(Typed):
    function: Function
    args: tuple[Typed, ...]


@dataclass(frozen=True)
class Relation:
    """Records of `entity` whose reference `field` points at the record: a to-many relation."""

    name: str
    entity: str  # "app.entity"
    field: str


@dataclass(frozen=True, eq=False)
class TAggregate(Typed):
    """`count(bills where …)`, `sum(bills.amount)`: the where and value read related records."""

    function: str  # count sum avg min max exists
    relation: Relation
    value: Typed | None
    where: Typed | None
