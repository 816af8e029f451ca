"""An alert's statuses and the actions that move it between them.

    open ──acknowledge──▶ acknowledged ──dispose──▶ disposed
      │                        │  feedback            │  feedback
      └────────────resolve─────┴──────────────────────┴──▶ resolved

`feedback` (the operator's handling feedback) keeps the status; a scan resolves an alert by
itself when its record no longer matches (`auto_resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN, ACKNOWLEDGED, DISPOSED, RESOLVED = "open", "acknowledged", "disposed", "resolved"
STATUSES = (OPEN, ACKNOWLEDGED, DISPOSED, RESOLVED)
UNHANDLED = (OPEN, ACKNOWLEDGED)  # what escalation counts as left unhandled


@dataclass(frozen=True)
class Step:
    """An action: the states it may leave, the state it leads to (None: stays), and the
    body field it requires."""

    sources: tuple[str, ...]
    target: str | None
    required: str | None = None


ACTIONS: dict[str, Step] = {
    "acknowledge": Step((OPEN,), ACKNOWLEDGED),
    "dispose": Step((ACKNOWLEDGED,), DISPOSED, "opinion"),
    "feedback": Step((ACKNOWLEDGED, DISPOSED), None, "feedback"),
    "resolve": Step((OPEN, ACKNOWLEDGED, DISPOSED), RESOLVED),
}


def actions_for(status: str) -> list[str]:
    """The actions an alert in `status` allows, in lifecycle order."""
    return [name for name, step in ACTIONS.items() if status in step.sources]
