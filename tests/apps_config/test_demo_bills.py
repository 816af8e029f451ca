"""The demo rent bills and subsidies: consistent with the leases and roster they belong to,
mostly paid, with enough arrears and overdue payments for the reports and alerts to find."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from plugins.builtin.demo_bills import month_end, periods
from plugins.builtin.demo_common import TODAY
from plugins.builtin.demo_housing import generate
from tests.apps_config.test_demo_housing import resident_id_is_valid

UNITS = 3000
Rows = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def rows() -> Rows:
    collected: Rows = defaultdict(list)
    for _, entity, batch in generate(UNITS, {}):
        collected[entity].extend(batch)
    return collected


def months_of(start: date, end: date, window: list[date]) -> list[date]:
    return [p for p in window if start <= month_end(p) and end >= p]


def test_periods_are_the_whole_months_before_today() -> None:
    window = periods(12, date(2026, 3, 1))
    assert len(window) == 12 and window[0] == date(2025, 3, 1) and window[-1] == date(2026, 2, 1)
    assert periods(2, date(2026, 1, 15)) == [date(2025, 11, 1), date(2025, 12, 1)]


def test_each_lease_has_a_bill_for_each_month_of_its_term_in_the_window(rows: Rows) -> None:
    window = periods(12, TODAY)
    bills = defaultdict(list)
    for bill in rows["rent_bill"]:
        bills[bill["contract"]].append(bill)
    for contract in rows["lease_contract"]:
        expected = months_of(contract["start_date"], contract["end_date"], window)
        found = bills.pop(contract["id"], [])
        assert [b["period"] for b in found] == expected, contract["contract_no"]
        for bill in found:
            assert bill["amount_due"] == contract["monthly_rent"]
            assert (bill["housing_unit"], bill["household"]) == (
                contract["housing_unit"],
                contract["household"],
            )
            assert bill["bill_no"].endswith(contract["contract_no"])
    assert bills == {}  # no bill without its contract


def test_bills_fall_due_before_today_and_amounts_add_up(rows: Rows) -> None:
    for bill in rows["rent_bill"]:
        assert bill["due_date"] < TODAY
        due, paid = bill["amount_due"], bill["amount_paid"]
        match bill["status"]:
            case "paid":
                assert paid == due and bill["paid_on"] <= TODAY and bill["arrears"] == 0
            case "partial":
                assert 0 < paid < due and bill["arrears"] == due - paid
            case "unpaid":
                assert paid == 0 and bill["paid_on"] is None and bill["arrears"] == due
            case "waived":
                assert paid == 0 and bill["arrears"] == 0


def test_arrears_are_the_latest_bills_of_active_leases(rows: Rows) -> None:
    status = {c["id"]: c["status"] for c in rows["lease_contract"]}
    bills = defaultdict(list)
    for bill in rows["rent_bill"]:
        bills[bill["contract"]].append(bill)
    behind: Counter[int] = Counter()
    for contract_id, found in bills.items():
        owing = [b["status"] in ("unpaid", "partial") for b in found]
        count = sum(owing)
        assert owing == [False] * (len(found) - count) + [True] * count  # the latest ones
        assert count == 0 or status[contract_id] == "active"
        behind[min(count, 3)] += 1
    active = sum(1 for s in status.values() if s == "active")
    in_arrears = behind[1] + behind[2] + behind[3]
    assert behind[1] > 0 and behind[2] > 0 and behind[3] > 0  # 1, 2 and 3+ months
    assert 0.08 <= in_arrears / active <= 0.25
    unpaid = sum(b["status"] != "paid" for b in rows["rent_bill"]) / len(rows["rent_bill"])
    assert 0.01 <= unpaid <= 0.1  # most bills are paid


def test_subsidy_recipients_have_valid_unique_id_numbers(rows: Rows) -> None:
    recipients = rows["subsidy_recipient"]
    assert len(recipients) == UNITS // 100
    numbers = [r["id_number"] for r in recipients]
    assert len(set(numbers)) == len(numbers)
    assert all(resident_id_is_valid(n) for n in numbers)


def test_recipients_from_applications_chose_the_subsidy(rows: Rows) -> None:
    households = {h["id"]: h for h in rows["household"]}
    chose = {
        a["household"]
        for a in rows["application"]
        if a["state"] == "qualified" and a["security_mode"] == "rent_subsidy"
    }
    linked = [r for r in rows["subsidy_recipient"] if r["household"] is not None]
    assert linked, "qualified subsidy households head the roster"
    for recipient in linked:
        household = households[recipient["household"]]
        assert recipient["household"] in chose
        assert (recipient["name"], recipient["id_number"], recipient["district"]) == (
            household["applicant_name"],
            household["id_number"],
            household["hukou_district"],
        )


def test_payments_follow_the_roster(rows: Rows) -> None:
    window = periods(24, TODAY)
    payments = defaultdict(list)
    for payment in rows["subsidy_disbursement"]:
        payments[payment["recipient"]].append(payment)
    statuses: Counter[str] = Counter()
    for recipient in rows["subsidy_recipient"]:
        end = recipient["end_month"] or date.max
        expected = [p for p in window if recipient["start_month"] <= p <= end]
        found = payments[recipient["id"]]
        assert [p["period"] for p in found] == expected
        per_person = {"tier_1": 300, "tier_2": 200, "tier_3": 120}[recipient["tier"]]
        assert recipient["monthly_amount"] == Decimal(
            per_person * min(3, recipient["household_size"])
        )
        for payment in found:
            assert payment["amount"] == recipient["monthly_amount"]
            assert payment["due_date"] < TODAY
            assert (payment["paid_on"] is not None) == (payment["status"] == "paid")
            assert payment["status"] != "stopped" or recipient["status"] == "suspended"
            statuses[payment["status"]] += 1
    assert statuses["overdue"] > 0 and statuses["paid"] > 0.9 * sum(statuses.values())


def test_every_qualified_case_has_its_waitlist_entry(rows: Rows) -> None:
    tenants = {c["household"] for c in rows["lease_contract"]}
    qualified = {a["id"]: a for a in rows["application"] if a["state"] == "qualified"}
    entries = rows["waitlist_entry"]
    assert sorted(e["application"] for e in entries) == sorted(qualified)
    for entry in entries:
        application = qualified[entry["application"]]
        assert (entry["qualified_on"], entry["confirmation_no"]) == (
            application["qualified_on"],
            application["confirmation_no"],
        )
        if application["security_mode"] == "rent_subsidy":
            assert entry["status"] == "subsidy"
        else:
            assert (entry["status"] == "allocated") == (entry["household"] in tenants)
    waiting = [e for e in entries if e["status"] == "waiting"]
    placed = sorted(e["position"] for e in waiting if e["position"] is not None)
    assert waiting and placed == list(range(1, len(placed) + 1))
    assert all(e["position"] is None for e in entries if e["status"] != "waiting")
