"""The verifiable draw, as pure functions: commit, draw, verify. Nothing here reads a
database or the clock; the same inputs give the same result on any machine.

**Commit** (when a round is published): a secret seed, `new_seed()` = 64 hex characters
from `secrets.token_hex(32)`; published before the draw are `seed_hash(seed)` =
SHA-256 of the seed's text (UTF-8), in hex, and the frozen participant list with its
`participant_digest` = SHA-256 of its canonical JSON (UTF-8, keys sorted, no spaces:
`[{"groups":["disabled"],"id":12},{"groups":[],"id":15}]`), in the published order.

**Draw** (`draw(seed, participants, groups_order, slots, mode)`, algorithm `anju-lottery/1`):

1. A participant belongs to the first group of `groups_order` among its `groups`, or to
   none. Tiers are drawn in the order of `groups_order`, then those in no group.
2. Random numbers come from one stream: block *c* (c = 0, 1, 2, …) is
   HMAC-SHA256(key = the seed's text, message = *c* in decimal digits), both UTF-8, read as a
   256-bit big-endian integer *x*. A number below *n* is *x* mod *n*, taking the next block
   instead when *x* ≥ 2²⁵⁶ − (2²⁵⁶ mod *n*), so every number is equally likely.
3. Each tier, in the published order of its members, is shuffled by Fisher-Yates from the
   end: for i = len−1 down to 1, swap items i and j, j a number below i+1. The stream runs
   on from one tier to the next.
4. The tiers joined give every participant a sequence number, 1 first.
5. `mode` is the call ratio: `direct` 1, `one_of_two` 2, `one_of_three` 3 per unit. The
   first min(participants, slots × ratio) are *called* to choose; the rest wait in sequence
   order. Units are offered in sequence order; an offer given up passes to the next
   participant in sequence who has had none (`next_in_line`), called ones first since they
   come first, then the waiting list of the same draw.

Anyone can re-run it with the published seed and participants:

    import hashlib, hmac

    def rerun(seed, participants, groups_order):
        counter = 0

        def below(n):
            nonlocal counter
            while True:
                block = hmac.new(seed.encode(), str(counter).encode(), hashlib.sha256)
                counter += 1
                x = int.from_bytes(block.digest(), "big")
                if x < 2**256 - 2**256 % n:
                    return x % n

        sequence = []
        for group in groups_order + [None]:
            tier = [p for p in participants
                    if next((g for g in groups_order if g in p["groups"]), None) == group]
            for i in range(len(tier) - 1, 0, -1):
                j = below(i + 1)
                tier[i], tier[j] = tier[j], tier[i]
            sequence += [p["id"] for p in tier]
        return sequence          # == [d["id"] for d in result["sequence"]]

**Reveal and verify**: after the draw the seed is published; `verify(seed, seed_hash,
participants, digest, result)` checks the seed against its hash, the list against its
digest, and re-runs the draw; a changed list is named (added, removed, regrouped,
reordered).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ALGORITHM = "anju-lottery/1"
Mode = Literal["direct", "one_of_two", "one_of_three"]
RATIOS: dict[str, int] = {"direct": 1, "one_of_two": 2, "one_of_three": 3}
ParticipantId = int | str
BLOCK_RANGE = 1 << 256


class Participant(BaseModel):
    """One frozen participant: an id (the waitlist entry's) and the priority groups it is
    in. Nothing personal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ParticipantId
    groups: list[str] = []

    def tier(self, groups_order: Sequence[str]) -> str | None:
        """The first group of `groups_order` this participant is in; None for none."""
        return next((group for group in groups_order if group in self.groups), None)


class Drawn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    no: int = Field(ge=1)
    id: ParticipantId
    group: str | None = None


class DrawResult(BaseModel):
    """What a draw gives, self-describing so that it can be re-run from it and the seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: str = ALGORITHM
    participant_digest: str
    groups_order: list[str]
    mode: Mode
    slots: int = Field(ge=0)
    called: int = Field(ge=0)
    sequence: list[Drawn]

    def called_ids(self) -> list[ParticipantId]:
        return [drawn.id for drawn in self.sequence[: self.called]]


def new_seed() -> str:
    return secrets.token_hex(32)


def seed_hash(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def participant_digest(participants: Iterable[Participant | dict[str, Any]]) -> str:
    listed = [_participant(p).model_dump() for p in participants]
    return hashlib.sha256(canonical_json(listed)).hexdigest()


class RandomStream:
    """Uniform integers from HMAC-SHA256(seed, counter) blocks (see the module's text)."""

    def __init__(self, seed: str) -> None:
        self._key = seed.encode()
        self._counter = 0

    def below(self, n: int) -> int:
        if n < 1:
            raise ValueError("a random number below n needs n ≥ 1")
        limit = BLOCK_RANGE - BLOCK_RANGE % n
        while True:
            message = str(self._counter).encode()
            self._counter += 1
            value = int.from_bytes(hmac.new(self._key, message, hashlib.sha256).digest(), "big")
            if value < limit:
                return value % n

    def shuffle(self, items: Sequence[Any]) -> list[Any]:
        shuffled = list(items)
        for i in range(len(shuffled) - 1, 0, -1):
            j = self.below(i + 1)
            shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
        return shuffled


def draw(
    seed: str,
    participants: Sequence[Participant | dict[str, Any]],
    groups_order: Sequence[str],
    slots: int,
    mode: Mode = "direct",
) -> DrawResult:
    """Every participant's sequence number, priority tiers first (see the module's text)."""
    listed = [_participant(p) for p in participants]
    ids = [p.id for p in listed]
    if len(set(ids)) != len(ids):
        raise ValueError("a participant is listed twice")
    if slots < 0:
        raise ValueError("the number of units cannot be negative")
    order = list(groups_order)
    stream = RandomStream(seed)
    sequence: list[Drawn] = []
    for group in [*order, None]:
        tier = [p for p in listed if p.tier(order) == group]
        for participant in stream.shuffle(tier):
            sequence.append(Drawn(no=len(sequence) + 1, id=participant.id, group=group))
    return DrawResult(
        participant_digest=participant_digest(listed),
        groups_order=order,
        mode=mode,
        slots=slots,
        called=min(len(sequence), slots * RATIOS[mode]),
        sequence=sequence,
    )


def next_in_line(result: DrawResult, had_offer: Collection[ParticipantId]) -> Drawn | None:
    """The first participant in sequence order who has had no offer yet, or None."""
    return next((drawn for drawn in result.sequence if drawn.id not in had_offer), None)


def verify(
    seed: str,
    published_hash: str,
    participants: Sequence[Participant | dict[str, Any]],
    digest: str,
    result: DrawResult | dict[str, Any],
) -> dict[str, Any]:
    """Re-run the draw from the revealed seed and say whether everything matches: the seed
    its hash, the list its digest, the result the re-run. Names what changed in the list."""
    published = result if isinstance(result, DrawResult) else DrawResult.model_validate(result)
    listed = [_participant(p) for p in participants]
    changes = list_changes(listed, published)
    checks = [
        _check("seed_hash", seed_hash(seed) == published_hash, _seed_message(seed)),
        _check(
            "participant_digest",
            participant_digest(listed) == digest,
            _list_message(changes),
        ),
        _check(
            "result_digest",
            published.participant_digest == digest,
            "the result was drawn for another participant list than the one published",
        ),
    ]
    rerun = draw(seed, listed, published.groups_order, published.slots, published.mode)
    difference = _first_difference(rerun, published)
    checks.append(
        _check(
            "result",
            difference is None and rerun.called == published.called,
            "re-running the draw gives another result"
            + (f": sequence no. {difference['no']} differs" if difference else ""),
        )
    )
    return {
        "verified": all(check["passed"] for check in checks),
        "algorithm": ALGORITHM,
        "checks": checks,
        "changes": changes,
        "first_difference": difference,
        "rerun": rerun.model_dump(),
    }


def list_changes(listed: Sequence[Participant], result: DrawResult) -> dict[str, Any]:
    """How `listed` differs from the participants the result drew."""
    drawn = {d.id: d.group for d in result.sequence}
    given = {p.id: p.tier(result.groups_order) for p in listed}
    return {
        "added": [pid for pid in given if pid not in drawn],
        "removed": [pid for pid in drawn if pid not in given],
        "regrouped": [
            {"id": pid, "drawn_in": drawn[pid], "listed_in": group}
            for pid, group in given.items()
            if pid in drawn and drawn[pid] != group
        ],
    }


def _list_message(changes: dict[str, Any]) -> str:
    parts = [
        f"{len(changes[kind])} {word} ({', '.join(str(_id(x)) for x in changes[kind])})"
        for kind, word in (("added", "added"), ("removed", "removed"), ("regrouped", "regrouped"))
        if changes[kind]
    ]
    what = "; ".join(parts) if parts else "the same participants in another order or form"
    return f"the participant list does not match its published digest: {what}"


def _seed_message(seed: str) -> str:
    return f"the seed does not match the published seed hash (its hash is {seed_hash(seed)})"


def _first_difference(rerun: DrawResult, published: DrawResult) -> dict[str, Any] | None:
    for ours, theirs in zip(rerun.sequence, published.sequence, strict=False):
        if ours != theirs:
            return {"no": ours.no, "rerun": ours.model_dump(), "published": theirs.model_dump()}
    if len(rerun.sequence) != len(published.sequence):
        no = min(len(rerun.sequence), len(published.sequence)) + 1
        return {"no": no, "rerun": None, "published": None}
    return None


def _check(name: str, passed: bool, message: str) -> dict[str, Any]:
    return {"name": name, "passed": passed, "message": "" if passed else message}


def _id(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) else value


def _participant(value: Participant | dict[str, Any]) -> Participant:
    return value if isinstance(value, Participant) else Participant.model_validate(value)
