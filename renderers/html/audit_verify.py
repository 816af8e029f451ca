"""Verifying the audit chain from the screen: the same `verify_chain` as `GET /api/audit/verify`
and `run.py verify-audit`, its verdict in words, the first bad entry named."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from engine.audit import read_head
from engine.audit.verify import Problem, verify_chain
from renderers.api.audit import ANCHOR
from renderers.html.audit_texts import text
from renderers.html.audit_versions import ChainState, chain_state
from renderers.html.chrome import Chrome


@dataclass(frozen=True)
class ProblemRow:
    """One finding: the entry's `seq`, what is wrong in the user's words (`kind_text`, e.g.
    edited, deleted, reordered) and the engine's explanation."""

    seq: int
    kind: str
    kind_text: str
    message: str


@dataclass(frozen=True)
class VerifyPage:
    """`GET /audit/verify`: `ok` is None when the chain was not walked because the anchor
    entered is malformed (`anchor_error` says how)."""

    chrome: Chrome
    ok: bool | None
    summary: str
    checked: int
    chain: ChainState
    problems: list[ProblemRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    truncated: bool = False
    anchor: str = ""
    anchor_error: str = ""

    @property
    def first_bad(self) -> ProblemRow | None:
        return self.problems[0] if self.problems else None


def verify_page(conn: sa.Connection, chrome: Chrome, anchor: str = "") -> VerifyPage:
    """Walk the whole chain, checking `anchor` (`SEQ:HASH` noted earlier, optional) too; a
    malformed anchor is refused before the walk, which may take a while."""
    texts = chrome.texts
    anchor = anchor.strip()
    match = ANCHOR.fullmatch(anchor)
    if anchor and match is None:
        chain = chain_state(read_head(conn), texts)
        error = texts["anchor_invalid"]
        return VerifyPage(chrome, None, "", 0, chain, anchor=anchor, anchor_error=error)
    anchors = [(int(match[1]), match[2].lower())] if match else []
    result = verify_chain(conn, anchors)
    problems = [_row(problem, texts) for problem in result.problems]
    summary = (
        text(texts, "intact_summary", count=result.checked)
        if result.ok
        else text(texts, "broken_summary", count=result.checked, n=len(problems))
    )
    return VerifyPage(
        chrome=chrome,
        ok=result.ok,
        summary=summary,
        checked=result.checked,
        chain=chain_state(result.head, texts),
        problems=problems,
        notes=result.notes,
        truncated=result.truncated,
        anchor=anchor,
    )


def _row(problem: Problem, texts: dict[str, str]) -> ProblemRow:
    kind_text = texts.get(f"kind_{problem.kind}", problem.kind)
    return ProblemRow(problem.seq, problem.kind, kind_text, problem.message)
