"""Demo suppliers of the `ecosystem` app: suppliers, their deliveries and incidents, and the
organisations and accounts that let a supplier see its own records and receive its alerts.

A pure generator: `supplier_batches(ids, districts, enterprise_ids, rng)` yields the
`supplier`, `supplier_delivery` and `supplier_incident` batches, dates relative to
`demo_common.TODAY`. Most suppliers are admitted and deliver on time; a supplier's place in
`PROFILES` decides what it does wrong, so that each supplier alert of `supervision` finds a
few suppliers — and passes over a few that only nearly qualify (two late deliveries, one
complaint in twenty deliveries, an accident 45 days ago, a blacklisted supplier's accident).

    >>> import random
    >>> from plugins.builtin.demo_common import District, Ids
    >>> city = [District(2, "岳麓区", "430104", (112.9, 28.2), 1, ("麓谷大道",), ((3, "麓谷"),))]
    >>> batches = supplier_batches(Ids({}), city, [1], random.Random(1))
    >>> [(entity, len(rows)) for _, entity, rows in batches][:1]
    [('supplier', 48)]

Each supplier is an organisation of its own (its credit code) under the district centre it
is registered in, with an account `supplier_<credit code>` holding the role `supplier`:
`load_identity` adds them once the district centres exist.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any

from engine.auth.imports import import_identity
from engine.auth.realm import Realm
from engine.catalog import Catalog
from engine.database import write_transaction
from engine.principal import SYSTEM
from engine.records.orgs import assign_all_orgs
from plugins.builtin.demo_common import (
    TODAY,
    Batch,
    District,
    Ids,
    Row,
    _words,
    batched,
    either,
    org_check_char,
    person_name,
    phone,
    street_address,
)
from plugins.builtin.demo_identity import DemoUser
from plugins.builtin.identity_numbers import USCC_CHARS, uscc_check_digit

ECOSYSTEM = "ecosystem"

SUPPLIERS = 48  # a city's worth: 16 brands × 6 categories gives 48 distinct names

BRANDS = _words("湘楚 麓丰 星沙 橘洲 岳峰 湘融 楚信 长盛 恒安 佳美 惠民 金霞 天润 宏远 和顺 新湘")

# category: (name ending, what it supplies)
CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "building_materials": ("建材有限公司", _words("外墙涂料 防水卷材 瓷砖 石膏板")),
    "furniture_appliances": ("家居有限公司", _words("单人床及床垫 衣柜 空调 热水器")),
    "smart_devices": ("智能科技有限公司", _words("智能门锁 智能水表 智能电表 人脸识别门禁")),
    "repair_services": ("建筑维修工程有限公司", _words("屋面防水维修 给排水管道维修 电梯维保")),
    "cleaning_services": ("家政服务有限公司", _words("公共区域保洁 空置房开荒保洁 外墙清洗")),
    "decoration": ("装饰工程有限公司", _words("空置房翻新 卫生间改造 厨房改造")),
}

# What the supplier at position n % 12 does wrong: a profile named for a `supervision`
# supplier rule gives the rule something to find, a `_near` one falls just short of it.
PROFILES = (
    "clean",
    "late",  # three deliveries of the last 90 days late or still undelivered
    "late_near",  # two, one older late delivery and one cancelled overdue order
    "complaints",  # two complaints on twelve deliveries in the year
    "complaints_near",  # one complaint on twenty or more deliveries
    "work_safety",  # an accident ten days ago
    "environmental",  # a violation twenty days ago, an accident 45 days ago
    "credit_low",
    "reputation_low",
    "clean",
    "environmental_near",  # a violation 40 days ago, one complaint
    "clean",
)

BLACKLIST_REASONS = (
    "发生重大安全生产事故，经核查列入黑名单",
    "多次逾期交付且拒不整改，经核查列入黑名单",
)


def supplier_batches(
    ids: Ids, districts: Sequence[District], enterprise_ids: Sequence[int], rng: random.Random
) -> Iterator[Batch]:
    """The demo suppliers, then the orders placed with them by `enterprise_ids`, then their
    incidents."""
    weights = tuple(accumulate(d.weight for d in districts))
    used: set[str] = set()
    suppliers = [
        supplier_row(n, rng.choices(districts, cum_weights=weights)[0], used, ids, rng)
        for n in range(SUPPLIERS)
    ]
    yield from batched(ECOSYSTEM, "supplier", suppliers)
    deliveries: dict[int, list[Row]] = {}
    for n, supplier in enumerate(suppliers):
        if supplier["reviewed_on"] and supplier["status"] != "rejected":
            deliveries[n] = delivery_rows(n, supplier, enterprise_ids, ids, rng)
    yield from batched(
        ECOSYSTEM, "supplier_delivery", [r for rows in deliveries.values() for r in rows]
    )
    incidents = (
        row
        for n, rows in deliveries.items()
        for row in incident_rows(PROFILES[n % len(PROFILES)], suppliers[n], rows, ids, rng)
    )
    yield from batched(ECOSYSTEM, "supplier_incident", incidents)


def supplier_row(n: int, district: District, used: set[str], ids: Ids, rng: random.Random) -> Row:
    """Supplier n: its status by position (a few applied, rejected, cancelled or
    blacklisted), its credit and reviews by profile."""
    category = list(CATEGORIES)[n % len(CATEGORIES)]
    ending, products = CATEGORIES[category]
    status = _status(n)
    profile = PROFILES[n % len(PROFILES)]
    reviews = (700, 795) if profile == "reputation_low" else (850, 995)
    applied_on = TODAY - timedelta(
        days=rng.randint(3, 30) if status == "applied" else rng.randint(600, 1800)
    )
    reviewed = status != "applied"
    reasons = {
        "rejected": "资质材料不全，营业执照经营范围与申请类别不符",
        "cancelled": "供应商主动申请注销",
        "blacklisted": BLACKLIST_REASONS[n % len(BLACKLIST_REASONS)],
    }
    return {
        "id": ids.take(ECOSYSTEM, "supplier"),
        "name": f"长沙{BRANDS[n % len(BRANDS)]}{ending}",
        "uscc": supplier_uscc(district.code, used, rng),
        "category": category,
        "contact": person_name(either(rng), rng),
        "phone": phone(rng),
        "district": district.id,
        "address": street_address(district, rng),
        "main_products": "、".join(rng.sample(products, 2)),
        "status": status,
        "applied_on": applied_on,
        "meets_admission_standard": status in ("approved", "cancelled", "blacklisted"),
        "reviewed_on": applied_on + timedelta(days=rng.randint(5, 30)) if reviewed else None,
        "status_reason": reasons.get(status),
        "credit_score": rng.randint(40, 58) if profile == "credit_low" else rng.randint(70, 100),
        "positive_review_rate": _rate(rng, *reviews),
        "blacklisted": status == "blacklisted",
    }


def _status(n: int) -> str:
    if n % 10 == 9:
        return "blacklisted"
    return {6: "applied", 14: "rejected", 11: "cancelled"}.get(n % 16, "approved")


def _rate(rng: random.Random, low: int, high: int) -> Decimal:
    """A percentage with one decimal, from low/10 to high/10."""
    return Decimal(rng.randint(low, high)).scaleb(-1).quantize(Decimal("0.01"))


def supplier_uscc(district_code: str, used: set[str], rng: random.Random) -> str:
    """A GB 32100 credit code registered in `district_code`, unique among the suppliers; its
    organisation code starts MA5, never the enterprises' MA4, so no supplier shares an
    organisation with an operating enterprise."""
    while True:
        org_body = "MA5" + "".join(rng.choices(USCC_CHARS, k=5))
        body = f"91{district_code}{org_body}{org_check_char(org_body)}"
        code = body + uscc_check_digit(body)
        if code not in used:
            used.add(code)
            return code


def delivery_rows(
    n: int, supplier: Row, enterprise_ids: Sequence[int], ids: Ids, rng: random.Random
) -> list[Row]:
    """The orders of an admitted supplier over the last 18 months, oldest first: on time,
    but for its profile's late ones (and one older order in 25 delivered late)."""
    profile = PROFILES[n % len(PROFILES)]
    this_year = 12 if profile == "complaints" else 20 + rng.randint(0, 16)
    ordered = sorted(
        [TODAY - timedelta(days=rng.randint(366, 540)) for _ in range(rng.randint(2, 8))]
        + [TODAY - timedelta(days=rng.randint(91, 365)) for _ in range(this_year)]
    )
    late_due = {"late": [8, 30, 61], "late_near": [12, 47]}.get(profile, [])
    plans = [(day, day + timedelta(days=rng.randint(10, 45)), "on_time") for day in ordered]
    plans += [
        (TODAY - timedelta(days=ago + 20), TODAY - timedelta(days=ago), "late") for ago in late_due
    ]
    if profile == "late_near":  # older than the rule's window, and a cancelled order
        plans.append((TODAY - timedelta(days=160), TODAY - timedelta(days=130), "late"))
        plans.append((TODAY - timedelta(days=70), TODAY - timedelta(days=40), "cancelled"))
    plans.sort()
    _, products = CATEGORIES[supplier["category"]]
    rows = []
    for k, (ordered_on, due, kind) in enumerate(plans):
        if kind == "on_time" and due < TODAY - timedelta(days=90) and rng.random() < 0.04:
            kind = "late"
        delivered = _delivered_on(kind, due, k, rng)
        status = "delivered" if delivered else "in_progress"
        rows.append(
            {
                "id": ids.take(ECOSYSTEM, "supplier_delivery"),
                "supplier": supplier["id"],
                "order_no": f"GH{ordered_on.year}{n + 1:03d}{k + 1:04d}",
                "buyer": rng.choice(enterprise_ids),
                "subject": f"{rng.choice(products)}（第 {k + 1} 批）",
                "amount": Decimal(rng.randrange(5_000, 300_000, 100)).quantize(Decimal("0.01")),
                "ordered_on": ordered_on,
                "due_date": due,
                "delivered_on": delivered,
                "status": "cancelled" if kind == "cancelled" else status,
            }
        )
    return rows


def _delivered_on(kind: str, due: date, k: int, rng: random.Random) -> date | None:
    """On time: a few days early (still open when that is not yet past); late: days after the
    due date, or not at all (one late order in three is still open)."""
    if kind == "cancelled":
        return None
    if kind == "late" and k % 3 == 0:
        return None
    if kind == "late":
        return min(due + timedelta(days=rng.randint(3, 20)), TODAY - timedelta(days=1))
    day = due - timedelta(days=rng.randint(0, 5))
    return day if day < TODAY else None


def incident_rows(
    profile: str, supplier: Row, deliveries: list[Row], ids: Ids, rng: random.Random
) -> list[Row]:
    """The incidents a profile calls for, each planned as ((kind, severity, description),
    days ago); a complaint names an order delivered before it."""
    complaint = ("product_complaint", "general", "承租人投诉所供产品存在质量问题，经核实属实")
    plan = {
        "complaints": [(complaint, rng.randint(30, 150)), (complaint, rng.randint(160, 300))],
        "complaints_near": [(complaint, rng.randint(30, 300))],
        "work_safety": [(("work_safety", "serious", "施工现场高处坠落致一人受伤"), 10)],
        "environmental": [
            (("environmental", "general", "生产车间废气未经处理直接排放，被生态环境部门处罚"), 20),
            (("work_safety", "general", "仓库叉车作业碰撞致一人轻伤"), 45),
        ],
        "environmental_near": [
            (("environmental", "general", "建筑垃圾未按规定清运，被责令整改"), 40),
            (complaint, rng.randint(30, 300)),
        ],
    }.get(profile, [])
    if supplier["status"] == "blacklisted" and profile == "clean":  # why it was blacklisted
        plan = [(("work_safety", "major", "施工现场坍塌致多人受伤"), rng.randint(5, 25))]
    rows = []
    for (kind, severity, description), ago in plan:
        occurred = TODAY - timedelta(days=ago)
        before = [
            d["id"] for d in deliveries if d["delivered_on"] and d["delivered_on"] <= occurred
        ]
        concerned = before[-1] if kind == "product_complaint" and before else None
        rows.append(
            {
                "id": ids.take(ECOSYSTEM, "supplier_incident"),
                "supplier": supplier["id"],
                "kind": kind,
                "occurred_on": occurred,
                "severity": severity,
                "description": description,
                "delivery": concerned,
                "rectified_on": occurred + timedelta(days=15) if ago > 30 else None,
            }
        )
    return rows


def organisations(
    suppliers: Sequence[Mapping[str, Any]], regions: Sequence[Mapping[str, Any]]
) -> list[Row]:
    """One organisation per supplier, coded by its credit code, under its district's centre."""
    codes = {region["id"]: region["code"] for region in regions}
    return [
        {
            "code": supplier["uscc"],
            "name": supplier["name"],
            "kind": "supplier",
            "parent_code": codes.get(supplier["district"]),
        }
        for supplier in suppliers
    ]


def accounts(orgs: Sequence[Mapping[str, Any]], seed: int = 2026) -> list[DemoUser]:
    """The account `supplier_<credit code>` of each supplier organisation."""
    rng = random.Random(f"{seed}-supplier-accounts")
    return [
        {
            "username": f"supplier_{org['code'].lower()}",
            "display_name": person_name(either(rng), rng),
            "org_code": org["code"],
            "roles": ["supplier"],
        }
        for org in orgs
    ]


def load_identity(
    realm: Realm,
    catalog: Catalog,
    regions: Sequence[Mapping[str, Any]],
    suppliers: Sequence[Mapping[str, Any]],
    password: str,
) -> tuple[int, int]:
    """Store the suppliers' organisations and accounts (after `demo_identity.load`, whose
    district centres are their parents) and place the records still without an organisation
    — the suppliers', deliveries' and incidents' — in theirs. Returns what was added."""
    orgs = organisations(suppliers, regions)
    added = import_identity(realm, orgs, accounts(orgs), password, SYSTEM)
    with write_transaction(realm.engine) as conn:
        assign_all_orgs(conn, catalog, only_unassigned=True)
    return added
