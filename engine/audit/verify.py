"""Verifying the audit chain: proof that no entry was edited, deleted or reordered.

The walk starts at the head's checkpoint (the last purged entry, or genesis) and reads the
entries in batches in `seq` order, so a chain of millions of entries needs little memory.
Each entry must hash to its stored hash, follow the entry before it without a gap, and link
to that entry's hash; the last entry must be the one the head records, and hashes noted
outside the database (anchors) must still be there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from engine.audit.chain import entry_hash
from engine.audit.trail import PURGE_ACTION, AuditHead, audit_table, read_head

BATCH = 5000
MAX_PROBLEMS = 1000  # a wholly rewritten table would otherwise list every entry
MAX_CLASSIFIED = 200  # failing entries compared with each other to tell moved from edited
EDITED = "its content no longer matches its hash"


@dataclass(frozen=True)
class Problem:
    """One finding: `kind` is edited, deleted, reordered, broken link, head mismatch,
    checkpoint mismatch or anchor mismatch; `seq` names the entry."""

    seq: int
    kind: str
    message: str

    def line(self) -> str:
        return f"entry {self.seq}: {self.kind} — {self.message}"


@dataclass
class Verification:
    """What `verify_chain` found: no problems means the chain is intact."""

    checked: int
    head: AuditHead
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    truncated: bool = False  # more problems were found than are listed

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": self.head.as_json(),
            "problems": [asdict(p) for p in self.problems],
            "notes": self.notes,
            "truncated": self.truncated,
        }


@dataclass
class Walk:
    """The state of one pass over the entries after a checkpoint."""

    last_seq: int
    last_hash: str
    anchors: dict[int, str] = field(default_factory=dict)  # anchored seq → hash found there
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    mismatched: list[dict[str, Any]] = field(default_factory=list)  # entries failing their hash
    last_purge: dict[str, Any] | None = None
    truncated: bool = False
    _flagged_seq: int = -1  # the last entry with a problem: its successor's link is moot

    def visit(self, entry: sa.RowMapping) -> None:
        seq = int(entry["seq"])
        self.checked += 1
        gap = seq > self.last_seq + 1
        if gap:
            first, last = self.last_seq + 1, seq - 1
            span = f"entry {first} is" if first == last else f"entries {first}–{last} are"
            self.report(first, "deleted", f"{span} missing from the chain")
        intact = _hashes_correctly(entry)
        if not intact:
            self._flagged_seq = seq
            if len(self.mismatched) < MAX_CLASSIFIED:
                self.mismatched.append(dict(entry))
            else:
                self.report(seq, "edited", EDITED)
        elif self._links_wrongly(entry, gap):
            self.report(
                seq,
                "broken link",
                f"it was written after a different entry {self.last_seq}: "
                f"entry {self.last_seq} was rewritten, replaced or moved",
            )
        if seq in self.anchors:
            self.anchors[seq] = entry["hash"]
        if intact and entry["action"] == PURGE_ACTION:
            self.last_purge = orjson.loads(entry["detail"])
        self.last_seq, self.last_hash = seq, entry["hash"]

    def _links_wrongly(self, entry: sa.RowMapping, gap: bool) -> bool:
        """A link is judged only after an intact predecessor: a gap or a failing entry before
        it is already reported and would break the link anyway."""
        if gap or self._flagged_seq == self.last_seq:
            return False
        return bool(entry["prev_hash"] != self.last_hash)

    def report(self, seq: int, kind: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(seq, kind, message))
        else:
            self.truncated = True

    def classify_mismatches(self) -> None:
        """An entry failing its hash was moved if it hashes correctly under another failing
        entry's seq (two entries swapped, or renumbered), else it was edited."""
        places = [int(e["seq"]) for e in self.mismatched]
        for entry in self.mismatched:
            origin = next((s for s in places if _hashes_correctly({**entry, "seq": s})), None)
            if origin is None:
                self.report(int(entry["seq"]), "edited", EDITED)
            else:
                message = f"it holds the entry written as {origin}: entries were swapped or moved"
                self.report(int(entry["seq"]), "reordered", message)


def walk_entries(
    conn: sa.Connection,
    after_seq: int,
    after_hash: str,
    upto_seq: int,
    anchors: Iterable[int] = (),
    batch_size: int = BATCH,
) -> Walk:
    """Check the entries after `after_seq` (whose hash was `after_hash`) up to `upto_seq`."""
    walk = Walk(after_seq, after_hash, {seq: "" for seq in anchors})
    position = after_seq
    while True:
        query = (
            sa.select(audit_table)
            .where(audit_table.c.seq > position, audit_table.c.seq <= upto_seq)
            .order_by(audit_table.c.seq)
            .limit(batch_size)
        )
        batch = conn.execute(query).mappings().all()
        for entry in batch:
            walk.visit(entry)
        if len(batch) < batch_size:
            break
        position = int(batch[-1]["seq"])
    walk.classify_mismatches()
    return walk


def verify_chain(
    conn: sa.Connection, anchors: Iterable[tuple[int, str]] = (), batch_size: int = BATCH
) -> Verification:
    """Walk the whole chain and report every problem; `anchors` are `(seq, hash)` pairs
    recorded outside the database earlier, which must still match."""
    if conn.dialect.name == "postgresql" and not conn.in_transaction():
        # One snapshot for the head and every batch, so concurrent appends and purges
        # cannot look like gaps. (A SQLite read transaction is a snapshot already.)
        conn.execution_options(isolation_level="REPEATABLE READ")
    head = read_head(conn)
    wanted = dict(anchors)
    walk = walk_entries(conn, head.base_seq, head.base_hash, head.seq, wanted, batch_size)
    result = Verification(walk.checked, head, walk.problems, truncated=walk.truncated)
    _check_head(result, walk)
    _check_checkpoint(result, walk)
    _check_anchors(result, walk, wanted)
    result.problems.sort(key=lambda p: p.seq)
    if len(result.problems) > MAX_PROBLEMS:
        result.problems, result.truncated = result.problems[:MAX_PROBLEMS], True
    return result


def _hashes_correctly(entry: Mapping[Any, Any]) -> bool:
    try:
        return entry_hash(entry) == entry["hash"]
    except (ValueError, TypeError):  # an unknown algorithm or unhashable content
        return False


def _check_head(result: Verification, walk: Walk) -> None:
    head = result.head
    if head.seq == walk.last_seq and head.hash == walk.last_hash:
        return
    if head.seq > walk.last_seq:
        missing = f"entries {walk.last_seq + 1}–{head.seq} were removed from the end"
        if head.seq == walk.last_seq + 1:
            missing = f"entry {head.seq} was removed from the end"
        message = f"the head records entry {head.seq} but the last entry is {walk.last_seq}: "
        result.problems.append(Problem(head.seq, "head mismatch", message + missing))
    else:
        message = (
            f"the head records hash {head.hash[:16]}… but the entry has {walk.last_hash[:16]}…: "
            "the entry or the head was rewritten"
        )
        result.problems.append(Problem(head.seq, "head mismatch", message))


def _check_checkpoint(result: Verification, walk: Walk) -> None:
    """A moved checkpoint must be explained by the newest `audit.purge` entry in the chain."""
    head, purge = result.head, walk.last_purge or {}
    if head.base_seq == 0 or (
        purge.get("to_seq") == head.base_seq and purge.get("last_hash") == head.base_hash
    ):
        return
    message = (
        f"the chain starts after entry {head.base_seq}, "
        "but no audit.purge entry records purging up to it with that hash"
    )
    result.problems.append(Problem(head.base_seq, "checkpoint mismatch", message))


def _check_anchors(result: Verification, walk: Walk, wanted: dict[int, str]) -> None:
    head = result.head
    for seq, expected in sorted(wanted.items()):
        if seq < head.base_seq:
            result.notes.append(f"anchor {seq} is older than the checkpoint and was purged")
            continue
        found = head.base_hash if seq == head.base_seq else walk.anchors.get(seq, "")
        if found == expected:
            continue
        if seq > head.seq:
            message = f"it is beyond the head ({head.seq}): entries were removed from the end"
        elif not found:
            message = "the anchored entry no longer exists"
        else:
            message = (
                f"it was anchored with hash {expected[:16]}… but now has {found[:16]}…: "
                "the chain was rewritten from here or earlier"
            )
        result.problems.append(Problem(seq, "anchor mismatch", message))
