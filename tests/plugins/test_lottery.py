"""The lottery's draw as pure functions: reproducible from the seed, verifiable by anyone,
priority groups first, the call ratio of each mode, give-ups passing down the sequence, and
no participant favoured over many draws."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from typing import Any

import pytest

from plugins.builtin.lottery.draw import (
    DrawResult,
    RandomStream,
    draw,
    new_seed,
    next_in_line,
    participant_digest,
    seed_hash,
    verify,
)

SEED = "5f1c0d6e2b9a4c7d8e3f10a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0"
GROUPS = ["disabled", "elderly", "hardship", "long_wait", "repeated_failure"]


def participants(count: int = 12, **groups: list[str]) -> list[dict[str, Any]]:
    """Entries 101, 102, …; `groups` gives some of them groups: `g103=["elderly"]`."""
    return [{"id": 100 + n, "groups": groups.get(f"g{100 + n}", [])} for n in range(1, count + 1)]


def sequence(result: DrawResult) -> list[Any]:
    return [drawn.id for drawn in result.sequence]


def rerun_as_documented(seed: str, listed: list[dict[str, Any]], groups_order: list[str]):
    """The few lines `draw.py` gives the public to re-run a draw, copied as a reader would."""
    counter = 0

    def below(n: int) -> int:
        nonlocal counter
        while True:
            block = hmac.new(seed.encode(), str(counter).encode(), hashlib.sha256)
            counter += 1
            x = int.from_bytes(block.digest(), "big")
            if x < 2**256 - 2**256 % n:
                return x % n

    result = []
    for group in groups_order + [None]:
        tier = [
            p for p in listed if next((g for g in groups_order if g in p["groups"]), None) == group
        ]
        for i in range(len(tier) - 1, 0, -1):
            j = below(i + 1)
            tier[i], tier[j] = tier[j], tier[i]
        result += [p["id"] for p in tier]
    return result


# Reproducible ---------------------------------------------------------------------------


def test_the_same_seed_and_list_give_the_same_result() -> None:
    listed = participants(g104=["hardship"])
    first = draw(SEED, listed, GROUPS, slots=3, mode="one_of_two")
    again = draw(SEED, [dict(p) for p in listed], list(GROUPS), slots=3, mode="one_of_two")
    assert first == again
    assert sorted(sequence(first)) == [p["id"] for p in listed]
    assert [drawn.no for drawn in first.sequence] == list(range(1, 13))


def test_another_seed_gives_another_order() -> None:
    listed = participants(20)
    orders = {tuple(sequence(draw(f"{n:064x}", listed, GROUPS, 5))) for n in range(20)}
    assert len(orders) == 20


def test_a_published_draw_keeps_its_result() -> None:
    """Pinned: a change to the algorithm would make published rounds fail to verify."""
    result = draw(SEED, participants(8, g105=["elderly"]), GROUPS, slots=2)
    assert sequence(result) == [105, 101, 102, 107, 106, 108, 103, 104]


def test_the_documented_recipe_re_runs_the_draw() -> None:
    listed = participants(15, g102=["disabled"], g107=["hardship"], g111=["hardship", "elderly"])
    result = draw(SEED, listed, GROUPS, slots=4, mode="one_of_three")
    assert rerun_as_documented(SEED, listed, GROUPS) == sequence(result)


def test_the_commitments_are_plain_sha256() -> None:
    assert seed_hash(SEED) == hashlib.sha256(SEED.encode()).hexdigest()
    listed = [{"id": 12, "groups": ["disabled"]}, {"id": 15, "groups": []}]
    canonical = b'[{"groups":["disabled"],"id":12},{"groups":[],"id":15}]'
    assert participant_digest(listed) == hashlib.sha256(canonical).hexdigest()
    assert len(new_seed()) == 64 and new_seed() != new_seed()


# Verification -----------------------------------------------------------------------------


def published_round(listed: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    listed = listed or participants(10, g103=["disabled"], g106=["long_wait"])
    result = draw(SEED, listed, GROUPS, slots=3, mode="one_of_two")
    return {
        "seed_hash": seed_hash(SEED),
        "participants": listed,
        "digest": participant_digest(listed),
        "result": result.model_dump(),
    }


def checks(report: dict[str, Any]) -> dict[str, bool]:
    return {check["name"]: check["passed"] for check in report["checks"]}


def test_the_revealed_seed_verifies_the_published_draw() -> None:
    published = published_round()
    report = verify(
        SEED,
        published["seed_hash"],
        published["participants"],
        published["digest"],
        published["result"],
    )
    assert report["verified"] is True
    assert set(checks(report).values()) == {True}
    assert report["changes"] == {"added": [], "removed": [], "regrouped": []}
    assert report["first_difference"] is None


def test_another_seed_than_the_committed_one_is_caught() -> None:
    published = published_round()
    other = "0" * 64
    report = verify(
        other,
        published["seed_hash"],
        published["participants"],
        published["digest"],
        published["result"],
    )
    assert report["verified"] is False
    assert checks(report)["seed_hash"] is False
    assert checks(report)["result"] is False  # another seed, another order


def changed(listed: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
    copy = [dict(p, groups=list(p["groups"])) for p in listed]
    if how == "added":
        return copy + [{"id": 999, "groups": []}]
    if how == "removed":
        return copy[:4] + copy[5:]
    if how == "reordered":
        copy[0], copy[1] = copy[1], copy[0]
        return copy
    copy[7]["groups"] = ["disabled"]  # regrouped: 108 moved into the first priority group
    return copy


@pytest.mark.parametrize(
    "how, named",
    [
        ("added", {"added": [999], "removed": [], "regrouped": []}),
        ("removed", {"added": [], "removed": [105], "regrouped": []}),
        ("reordered", {"added": [], "removed": [], "regrouped": []}),
        (
            "regrouped",
            {
                "added": [],
                "removed": [],
                "regrouped": [{"id": 108, "drawn_in": None, "listed_in": "disabled"}],
            },
        ),
    ],
)
def test_a_changed_participant_list_is_detected_and_named(how: str, named: dict[str, Any]) -> None:
    published = published_round()
    tampered = changed(published["participants"], how)
    report = verify(
        SEED, published["seed_hash"], tampered, published["digest"], published["result"]
    )
    assert report["verified"] is False
    assert checks(report)["participant_digest"] is False
    assert report["changes"] == named
    [message] = [c["message"] for c in report["checks"] if c["name"] == "participant_digest"]
    assert message.startswith("the participant list does not match its published digest")
    if how == "added":
        assert "1 added (999)" in message
    if how == "reordered":
        assert "another order" in message


def test_a_result_edited_after_the_draw_is_caught() -> None:
    published = published_round()
    result = published["result"]
    first, second = result["sequence"][0]["id"], result["sequence"][1]["id"]
    result["sequence"][0]["id"], result["sequence"][1]["id"] = second, first
    report = verify(
        SEED, published["seed_hash"], published["participants"], published["digest"], result
    )
    assert report["verified"] is False
    assert checks(report) == {
        "seed_hash": True,
        "participant_digest": True,
        "result_digest": True,
        "result": False,
    }
    assert report["first_difference"]["no"] == 1


# Priority groups, modes and give-ups ------------------------------------------------------


def test_priority_groups_are_drawn_first_group_by_group() -> None:
    listed = participants(
        20,
        g120=["hardship"],
        g105=["hardship", "disabled"],  # counts in the first group of the order it is in
        g111=["elderly"],
        g101=["disabled"],
        g117=["unknown_group"],  # not in the order: drawn with everyone else
    )
    result = draw(SEED, listed, GROUPS, slots=4)
    head = result.sequence[:4]
    assert {d.id for d in head[:2]} == {101, 105} and {d.group for d in head[:2]} == {"disabled"}
    assert (head[2].id, head[2].group) == (111, "elderly")
    assert (head[3].id, head[3].group) == (120, "hardship")
    assert {d.group for d in result.sequence[4:]} == {None}


def test_the_group_order_is_configurable() -> None:
    listed = participants(6, g101=["disabled"], g102=["hardship"])
    result = draw(SEED, listed, ["hardship", "disabled"], slots=1)
    assert sequence(result)[:2] == [102, 101]


@pytest.mark.parametrize(
    "mode, slots, count, called",
    [
        ("direct", 3, 12, 3),
        ("one_of_two", 3, 12, 6),
        ("one_of_three", 3, 12, 9),
        ("one_of_three", 5, 12, 12),  # fewer families than 3 per unit: all are called
        ("direct", 0, 4, 0),
    ],
)
def test_each_mode_calls_its_ratio_of_families_per_unit(
    mode: str, slots: int, count: int, called: int
) -> None:
    result = draw(SEED, participants(count), GROUPS, slots=slots, mode=mode)
    assert (result.mode, result.slots, result.called) == (mode, slots, called)
    assert result.called_ids() == sequence(result)[:called]
    assert len(result.sequence) == count  # the rest wait in sequence order


def test_a_give_up_passes_to_the_next_in_sequence() -> None:
    result = draw(SEED, participants(8), GROUPS, slots=2, mode="one_of_two")
    order = sequence(result)
    offered = set(order[:2])
    assert next_in_line(result, offered).id == order[2]
    # the third gave up too: the fourth, then beyond the called ones, the waiting list
    assert next_in_line(result, offered | {order[2], order[3]}).id == order[4]
    assert next_in_line(result, set(order)) is None


def test_a_participant_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        draw(SEED, participants(3) + [{"id": 101, "groups": []}], GROUPS, slots=1)


# Fairness ----------------------------------------------------------------------------------

CHI_SQUARE_99_9 = {9: 27.877}  # critical values at p = 0.001, by degrees of freedom


def chi_square(counts: Counter[Any], keys: list[Any], expected: float) -> float:
    return sum((counts[key] - expected) ** 2 / expected for key in keys)


def test_over_many_seeds_every_participant_wins_about_equally() -> None:
    """1,000 fixed seeds (so the test cannot flake), 10 families, 3 units: each should be
    among the first three 300 times and first 100 times; chi-square at p = 0.001."""
    listed = participants(10)
    ids = [p["id"] for p in listed]
    winners: Counter[Any] = Counter()
    firsts: Counter[Any] = Counter()
    for n in range(1000):
        order = sequence(draw(hashlib.sha256(str(n).encode()).hexdigest(), listed, GROUPS, 3))
        winners.update(order[:3])
        firsts[order[0]] += 1
    assert chi_square(winners, ids, 300) < CHI_SQUARE_99_9[9]
    assert chi_square(firsts, ids, 100) < CHI_SQUARE_99_9[9]
    assert min(winners.values()) > 240 and max(winners.values()) < 360


def test_random_numbers_cover_their_range_evenly() -> None:
    stream = RandomStream(SEED)
    counts = Counter(stream.below(10) for _ in range(5000))
    assert set(counts) == set(range(10))
    assert chi_square(counts, list(range(10)), 500) < CHI_SQUARE_99_9[9]
