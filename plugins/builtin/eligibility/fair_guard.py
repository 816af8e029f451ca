"""Fair Guard (公平卫士, §A4, L2118-2165): duplicate cases across the products Anju holds,
judged from the other applications and leases `gather` found for this household's people.

- one of them is the applicant of another case still in progress → red, blocks
  ("同一产品重复申请"); a case that failed its pre-review and waits for its applicant holds no
  place, and closed or never-submitted cases do not count;
- one of them is the applicant of a case that holds a qualification still valid, and this is
  a new application (not a renewal, 资格复核) → red, blocks;
- one of them is a co-resident member of another household whose case is in progress or
  qualified → yellow ("a co-resident of another case appears again");
- one of them is the lessee of a lease that is running or about to run, in a new
  application → orange: a sitting tenant should renew or change rooms, not apply anew, but
  a lease's status can lag behind its move-out, so a reviewer decides.

The SOH signals of §A4 (brown for a purchase, the three months after delivery) and the
one-house-several-subsidies signals need data Anju does not hold yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from plugins.builtin.eligibility.params import Rules
from plugins.builtin.eligibility.signals import Signal, red

DUPLICATE = "重复申请"
CO_RESIDENT = "共同居住"
TENANCY = "在租住房"
RENEWAL = "renewal"  # the application's business type of a qualification renewal (资格复核)
RELATIONS = {"self": "本人", "spouse": "配偶", "child": "子女", "parent": "父母", "other": "其他"}


def duplicates(inputs: Mapping[str, Any], rules: Rules, today: date) -> list[Signal]:
    """One signal per other case that counts, and one per running lease."""
    renewal = inputs.get("business_type") == RENEWAL
    by_case: dict[Any, list[Mapping[str, Any]]] = {}
    for match in inputs.get("cases") or []:
        by_case.setdefault(match["application"], []).append(match)
    found = []
    for matches in by_case.values():
        signal = _case_signal(matches, rules, today, renewal)
        if signal is not None:
            found.append(signal)
    if not renewal:
        found += [_lease_signal(lease) for lease in _running(inputs, rules)]
    return found


def standing(case: Mapping[str, Any], rules: Rules, today: date) -> str | None:
    """ "open" for a case in progress, "qualified" for one holding a valid qualification,
    None for one that does not count."""
    state = case["state"]
    if state in rules.case_closed_states or state in rules.case_unsubmitted_states:
        return None
    if state in rules.case_qualified_states:
        until = case.get("qualification_valid_until")
        return "qualified" if until is None or date.fromisoformat(until) >= today else None
    return None if case.get("pre_review") == "failed" else "open"


def _case_signal(
    matches: list[Mapping[str, Any]], rules: Rules, today: date, renewal: bool
) -> Signal | None:
    case = matches[0]
    found = standing(case, rules, today)
    if found is None:
        return None
    product, number = rules.product.label, case["application_no"]
    applicants = [m for m in matches if m["role"] == "applicant"]
    if applicants and found == "open":
        return red(
            DUPLICATE, f"同一产品重复申请：{_who(applicants)}另有{product}申请 {number} 正在办理"
        )
    if applicants and not renewal:
        until = case.get("qualification_valid_until") or "—"
        held = f"已持有{product}保障资格（申请 {number}，有效期至 {until}）"
        return red(DUPLICATE, f"同一产品重复申请：{_who(applicants)}{held}")
    if applicants:
        return None  # a renewal of the qualification it holds
    then = "正在办理" if found == "open" else "已取得保障资格"
    return Signal(
        "yellow",
        CO_RESIDENT,
        f"{_who(matches)}是另一{product}申请 {number} 的共同居住家庭成员，该申请{then}",
    )


def _running(inputs: Mapping[str, Any], rules: Rules) -> list[Mapping[str, Any]]:
    leases = inputs.get("leases") or []
    return [lease for lease in leases if lease["status"] in rules.lease_active_statuses]


def _lease_signal(lease: Mapping[str, Any]) -> Signal:
    term = f"合同 {lease['contract_no']}，租期至 {lease.get('end_date') or '—'}"
    return Signal("orange", TENANCY, f"{_who([lease])}正在承租保障性住房（{term}）")


def _who(matches: list[Mapping[str, Any]]) -> str:
    """ "申请人本人" or "家庭成员 李娜（配偶）", for each person once."""
    people: dict[str, str] = {}
    for match in matches:
        relation = match.get("relation")
        if relation == "self":
            people.setdefault(match["person"], "申请人本人")
        else:
            label = RELATIONS.get(relation or "", "家庭成员")
            people.setdefault(match["person"], f"家庭成员 {match['person']}（{label}）")
    return "、".join(people.values())
