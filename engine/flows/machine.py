"""A flow compiled for one definition version: its states, transitions and expressions, with
the questions the engine asks of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.expressions import Expression
from metamodel.flows import Flow, State, Step, Transition

MAX_AUTOMATIC_MOVES = 20  # automatic transitions in a row before the engine calls it a loop


@dataclass(eq=False)
class CompiledFlow:
    app: str
    definition: Flow
    version: int  # the definitions version this flow was compiled in
    expressions: dict[tuple[Any, ...], Expression] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def initial(self) -> str:
        return self.definition.initial

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.definition.params)

    def state(self, name: str) -> State | None:
        return self.definition.states.get(name)

    def transition(self, name: str) -> Transition | None:
        return self.definition.transitions.get(name)

    def leaving(self, state: str) -> list[tuple[str, Transition]]:
        """Transitions out of `state`, in the order the definition lists them."""
        return [(n, t) for n, t in self.definition.transitions.items() if state in t.sources]

    def automatic(self, state: str) -> list[tuple[str, Transition]]:
        return [(n, t) for n, t in self.leaving(state) if t.trigger == "auto"]

    def approving(self, state: str) -> tuple[str, Transition] | None:
        """The transition that records an approval in `state` (taken when the last is in)."""
        return next(((n, t) for n, t in self.leaving(state) if t.approve), None)

    def expression(self, *path: Any) -> Expression | None:
        return self.expressions.get(path)

    def steps(self, state: str) -> list[tuple[int, Step]]:
        found = self.state(state)
        if found is None or found.approval is None:
            return []
        return list(enumerate(found.approval.steps))

    def editable(self, state: str | None) -> frozenset[str] | None:
        """Fields updates may change in `state`; None when all of them."""
        found = self.state(state) if state else None
        if found is None:
            return frozenset()
        if found.editable == "all":
            return None
        return frozenset(found.editable)
