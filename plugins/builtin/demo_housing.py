"""Demo data for `housing_stock` and `public_rental`: Changsha estates, units, households, leases.

A pure generator with no database: `generate(units, start_ids)` yields `(app, entity, rows)`
batches in dependency order; each row maps field names to Python values plus an explicit `id`,
and reference fields hold the id of a row yielded earlier. The same seed gives the same rows.

    >>> [entity for _, entity, _ in generate(200, {})][:4]
    ['region', 'enterprise', 'project', 'unit_type']

Codes: house `430104-0012-003-02-0501` (district-project-building-stairwell-floor/room),
building `430104-0012-003`, project `XM4301040012`, application `SQ2025430104000123`,
contract `HT2025430104000088`; ID numbers (GB 11643) and USCCs (GB 32100) carry valid checksums.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice, product
from typing import Any

Row = dict[str, Any]
Batch = tuple[str, str, list[Row]]

STOCK = "housing_stock"
RENTAL = "public_rental"
BATCH_SIZE = 5_000
MAX_HOUSEHOLDS = 50_000
TODAY = date(2026, 3, 1)  # fixed, so a seed always gives the same rows whatever the clock says
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")

# name, GB/T 2260 code, map centre, weight (湘江新区 districts weigh more), roads, streets
DISTRICTS = (
    ("芙蓉区", "430102", (113.032, 28.186), 6, "五一大道 韶山北路 八一路 人民东路 远大一路 车站北路",
     "文艺路街道 朝阳街街道 韭菜园街道 五里牌街道 火星街道 马王堆街道 东屯渡街道 湘湖街道 定王台街道 荷花园街道 东岸街道 马坡岭街道 东湖街道"),
    ("天心区", "430103", (112.990, 28.112), 9, "芙蓉中路 书院路 湘府中路 新姚南路 披塘路 黑石路",
     "坡子街街道 城南路街道 裕南街街道 金盆岭街道 新开铺街道 青园街道 桂花坪街道 赤岭路街道 先锋街道 黑石铺街道 大托铺街道 文源街道 暮云街道 南托街道"),
    ("岳麓区", "430104", (112.931, 28.235), 22, "桐梓坡西路 麓谷大道 岳麓大道 金星中路 枫林三路 含浦大道 坪塘大道 梅溪湖路 东方红路 谷苑路",
     "橘子洲街道 望岳街道 岳麓街道 西湖街道 咸嘉湖街道 望城坡街道 银盆岭街道 观沙岭街道 梅溪湖街道 麓谷街道 坪塘街道 含浦街道 天顶街道 洋湖街道 学士街道 东方红街道"),
    ("开福区", "430105", (112.985, 28.256), 11, "芙蓉北路 三一大道 福元西路 金霞路 湘江北路 开福大道 中青路",
     "东风路街道 湘雅路街道 望麓园街道 清水塘街道 芙蓉北路街道 伍家岭街道 新河街道 通泰街道 四方坪街道 秀峰街道 洪山街道 捞刀河街道 浏阳河街道 月湖街道 青竹湖街道 沙坪街道"),
    ("雨花区", "430111", (113.035, 28.135), 11, "劳动东路 万家丽中路 韶山中路 环保中路 圭白路 时代阳光大道",
     "侯家塘街道 左家塘街道 圭塘街道 砂子塘街道 东塘街道 雨花亭街道 高桥街道 洞井街道 黎托街道 井湾子街道 东山街道 同升街道"),
    ("望城区", "430112", (112.819, 28.347), 14, "雷锋大道 望城大道 郭亮北路 旺旺东路 金星北路 普瑞大道",
     "高塘岭街道 大泽湖街道 月亮岛街道 金山桥街道 丁字湾街道 黄金园街道 白沙洲街道 乌山街道 铜官街道 书堂山街道"),
    ("长沙县", "430121", (113.081, 28.246), 11, "开元东路 星沙大道 东六路 漓湘路 人民东路",
     "星沙街道 湘龙街道 泉塘街道 榔梨街道 黄兴镇 安沙镇 黄花镇 福临镇"),
    ("浏阳市", "430181", (113.643, 28.163), 5, "金沙路 白沙路 北正路 花园路",
     "淮川街道 集里街道 荷花街道 关口街道 洞阳镇 永安镇 沙市镇"),
    ("宁乡市", "430182", (112.551, 28.277), 9, "玉潭北路 花明路 金洲大道 新康路",
     "玉潭街道 白马桥街道 历经铺街道 城郊街道 金洲镇 夏铎铺镇 双江口镇"),
)  # fmt: skip
COMMUNITIES = ("桃花岭 枫林 金桥 荷叶塘 白鹤 新民 永安 和平 幸福 阳光 青山 望月 长塘 银杉 紫荆 "
               "玉兰 桂花 松柏 丰泉 双枫 云栖 湘锦 新港 东湖 梅岭 学堂坡 桐梓 咸嘉 茶子山 白沙").split()  # fmt: skip
SURNAMES = ("王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 邓 曹 彭 "
            "曾 肖 田 袁 蒋 蔡 余 叶 程 苏 魏 丁 任 姚 谭 陆 汪 石 廖 夏 付 方 邹 熊 易 向 龙 贺 文 欧阳").split()  # fmt: skip
GIVEN = {
    "male": "伟 强 磊 军 勇 杰 涛 斌 超 明 刚 平 辉 鹏 华 飞 鑫 波 宇 浩 凯 健 俊 帆 旭 宁 龙 林 阳 锋 建 志 国 文 海 峰".split(),
    "female": "芳 娜 敏 静 丽 艳 娟 霞 燕 玲 婷 雪 琳 慧 莉 萍 红 梅 颖 倩 洁 佳 琴 丹 晶 欣 怡 悦 璐 瑶 湘 蓉".split(),
}  # fmt: skip
EMPLOYERS = ("长沙麓谷精密制造有限公司 湖南星城物流有限公司 长沙湘江保洁服务有限公司 岳麓区社区卫生服务中心 "
             "长沙市公共交通集团有限责任公司 湖南麓山建设工程有限公司 长沙梅溪湖商业管理有限公司 湖南湘丰餐饮管理有限公司 "
             "长沙橘洲家政服务有限公司 长沙星沙汽车零部件有限公司 望城区环境卫生服务中心 个体经营").split()  # fmt: skip
ESTATE_WORDS = "嘉园 佳苑 新苑 雅苑 家园 花园 景苑 和园 康居 安居 馨园 锦园".split()
BRANDS = "湘江 麓山 岳麓 梅溪 星城 橘洲 湘诚 楚天 安居 湘江智谷 长沙城发 先导".split()
FIRM_KINDS = ("住房租赁有限公司", "城市运营管理有限公司", "物业管理有限公司", "置业发展有限公司")
ETHNICITIES = ("汉族",) * 19 + ("土家族", "苗族", "侗族", "瑶族", "回族")
PHONE_PREFIXES = "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 173 177 180 181 182 185 186 187 188 189 191 198 199".split()  # fmt: skip

HOUSING_TYPES = ("public_rental", "affordable_rental", "talent", "low_rent", "market")
HOUSING_WEIGHTS = (60, 18, 8, 8, 6)
LEASED_TYPES = frozenset({"public_rental", "low_rent"})  # leases in `public_rental` are for these
NAME_SUFFIX = {"public_rental": "公租房小区", "affordable_rental": "保障性租赁住房",
               "talent": "人才公寓", "low_rent": "廉租房小区", "market": "租赁社区"}  # fmt: skip
RENT_CENTS = {"affordable_rental": (1500, 2800), "talent": (1800, 3000),
              "low_rent": (100, 150), "market": (3000, 4500)}  # fmt: skip
PUBLIC_RENT_CENTS = (240, 250, 260, 260, 260, 260, 270, 280, 300)
# layout, name, bedrooms, living rooms, usable area range (m²)
UNIT_TYPES = (("studio", "单间", 1, 0, 30, 35), ("one_bedroom", "一室一厅", 1, 1, 36, 45),
              ("two_bedroom", "两室一厅", 2, 1, 46, 58), ("three_bedroom", "三室一厅", 3, 1, 59, 70))  # fmt: skip
FLOORS = (6, 7, 11, 12, 18, 18, 24, 26, 28, 30, 32, 33)
ORIENTATIONS = ("south_north", "south", "southeast", "southwest", "north", "east", "west")
STATUSES = ("let", "vacant", "allocated", "reserved", "maintenance", "sealed")
STATUS_CUMULATIVE = (0.76, 0.86, 0.90, 0.94, 0.98)  # 76 % let, 10 % vacant, ...
STAGES = ("submitted", "pre_review", "street_publicity", "centre_review", "announcement",
          "qualified", "rejected", "withdrawn")  # fmt: skip
STAGE_WEIGHTS = (4, 8, 8, 12, 6, 34, 20, 5)
STAGE_DAYS = {"submitted": (0, 2), "pre_review": (2, 10), "street_publicity": (10, 17),
              "centre_review": (17, 37), "announcement": (37, 44)}  # fmt: skip
ORDER = {stage: i for i, stage in enumerate(STAGES)}
REJECT_REASONS = ("家庭成员名下有房产，不符合住房困难条件", "离婚未满三年，不符合申请条件",
                  "申请材料不全，逾期未补正", "已享受其他住房保障待遇")  # fmt: skip

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(body: str) -> str:
    """The GB 11643 check character of a 17-digit resident ID body."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def uscc_check_char(body: str) -> str:
    """The GB 32100 check character of a 17-character unified social credit code body."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def org_check_char(body: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    total = sum(int(c, 36) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    return "0123456789X0"[11 - total % 11] if total % 11 else "0"


@dataclass(frozen=True)
class District:
    id: int
    name: str
    code: str
    centre: tuple[float, float]
    weight: int
    roads: tuple[str, ...]
    streets: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class UnitType:
    id: int
    code: str
    layout: str
    building_area: Decimal
    inner_area: Decimal
    usable_area: Decimal
    rent_standard: Decimal
    monthly_rent: Decimal


@dataclass(frozen=True)
class Building:
    id: int
    number: int
    floors: int
    stairwells: int
    per_floor: int
    units: int


@dataclass
class Project:
    id: int
    seq: int
    name: str
    district: District
    street: tuple[int, str]
    address: str
    housing_type: str
    unit_types: list[UnitType]
    buildings: list[Building]
    completed_on: date


@dataclass(frozen=True)
class LetUnit:
    """A let public-rental unit, kept for the lease contracts generated after the units."""

    id: int
    unit_type: UnitType
    district: District


@dataclass(frozen=True)
class Person:
    surname: str
    name: str
    gender: str
    birth: date
    id_number: str
    relation: str


class Ids:
    """Consecutive ids per entity, starting at the caller's first free id."""

    def __init__(self, start_ids: Mapping[tuple[str, str], int]) -> None:
        self._next = dict(start_ids)

    def take(self, app: str, entity: str) -> int:
        value = self._next.get((app, entity), 1)
        self._next[(app, entity)] = value + 1
        return value


def generate(
    units: int, start_ids: Mapping[tuple[str, str], int], seed: int = 2026
) -> Iterator[Batch]:
    """Yield (app, entity, rows) batches in dependency order; rows carry explicit integer `id`s."""
    rng = random.Random(seed)
    ids = Ids(start_ids)
    districts, region_rows = regions(ids, rng)
    yield from batched(STOCK, "region", region_rows)
    projects = plan_projects(units, districts, ids, rng)
    enterprises = enterprise_rows(max(2, -(-len(projects) // 8)), districts, ids, rng)
    yield from batched(STOCK, "enterprise", enterprises)
    enterprise_ids = [row["id"] for row in enterprises]
    yield from batched(STOCK, "project", [project_row(p, enterprise_ids, rng) for p in projects])
    yield from batched(STOCK, "unit_type", [r for p in projects for r in unit_type_rows(p)])
    yield from batched(STOCK, "building", [r for p in projects for r in building_rows(p, rng)])
    let_units: list[LetUnit] = []
    yield from batched(STOCK, "housing_unit", unit_rows(projects, let_units, ids, rng))
    households = min(units // 10, MAX_HOUSEHOLDS)
    yield from rental_batches(households, districts, enterprise_ids, let_units, ids, rng)


def batched(app: str, entity: str, rows: Iterable[Row]) -> Iterator[Batch]:
    """Cut rows into batches of at most BATCH_SIZE."""
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_SIZE)):
        yield app, entity, batch


# --- housing stock --------------------------------------------------------------------------


def regions(ids: Ids, rng: random.Random) -> tuple[list[District], list[Row]]:
    """Changsha with its districts, streets and two communities per street."""
    city = ids.take(STOCK, "region")
    rows: list[Row] = [_region(city, "长沙市", "430100", "city", None, 0)]
    districts = []
    for order, (name, code, centre, weight, roads, streets) in enumerate(DISTRICTS, 1):
        district_id = ids.take(STOCK, "region")
        rows.append(_region(district_id, name, code, "district", city, order))
        street_ids = []
        for s, street in enumerate(streets.split(), 1):
            street_id = ids.take(STOCK, "region")
            rows.append(_region(street_id, street, f"{code}{s:03d}", "street", district_id, s))
            street_ids.append((street_id, street))
            for c, community in enumerate(rng.sample(COMMUNITIES, 2), 1):
                community_id = ids.take(STOCK, "region")
                community_code = f"{code}{s:03d}{c:03d}"
                rows.append(
                    _region(
                        community_id, f"{community}社区", community_code, "community", street_id, c
                    )
                )
        districts.append(
            District(
                district_id, name, code, centre, weight, tuple(roads.split()), tuple(street_ids)
            )
        )
    return districts, rows


def _region(id_: int, name: str, code: str, level: str, parent: int | None, order: int) -> Row:
    return {
        "id": id_,
        "name": name,
        "code": code,
        "level": level,
        "parent": parent,
        "sort_order": order,
    }


def enterprise_rows(
    count: int, districts: list[District], ids: Ids, rng: random.Random
) -> list[Row]:
    """Operating enterprises with valid unified social credit codes."""
    names = [f"长沙{brand}{kind}" for kind in FIRM_KINDS for brand in BRANDS]
    rows = []
    for n in range(count):
        district = rng.choice(districts)
        name = names[n] if n < len(names) else f"长沙{BRANDS[n % len(BRANDS)]}第{n}{FIRM_KINDS[0]}"
        founded = date(rng.randint(1998, 2021), rng.randint(1, 12), rng.randint(1, 28))
        rows.append({
            "id": ids.take(STOCK, "enterprise"),
            "name": name,
            "short_name": name[2:8],
            "uscc": uscc(district.code, rng),
            "enterprise_type": rng.choice(("operating", "operating", "state_platform", "rental", "property")),
            "legal_representative": person_name(rng.choice(("male", "female")), rng),
            "contact": person_name(rng.choice(("male", "female")), rng),
            "phone": phone(rng),
            "email": f"service{n + 1:03d}@cs-anju.cn",
            "district": district.id,
            "registered_address": street_address(district, rng),
            "office_address": street_address(district, rng),
            "registered_capital": Decimal(rng.randrange(1_000, 50_000, 100)).quantize(CENT),
            "founded_on": founded,
            "business_scope": "住房租赁；物业管理；房地产经纪；停车场服务；家政服务。",
            "credit_score": rng.randint(72, 100),
            "status": "active",
        })  # fmt: skip
    return rows


def uscc(district_code: str, rng: random.Random) -> str:
    """A unified social credit code for an enterprise registered in `district_code`."""
    org_body = "MA4" + "".join(rng.choice(USCC_CHARS) for _ in range(5))
    body = f"91{district_code}{org_body}{org_check_char(org_body)}"
    return body + uscc_check_char(body)


def plan_projects(
    units: int, districts: list[District], ids: Ids, rng: random.Random
) -> list[Project]:
    """Projects and buildings, the last building cut short so exactly `units` units exist."""
    weights = [d.weight for d in districts]
    seqs: dict[str, int] = {}
    names: set[str] = set()
    projects: list[Project] = []
    remaining = units
    while remaining > 0:
        district = rng.choices(districts, weights)[0]
        seqs[district.code] = seq = seqs.get(district.code, 0) + 1
        kind = rng.choices(HOUSING_TYPES, HOUSING_WEIGHTS)[0] if projects else "public_rental"
        street = rng.choice(district.streets)
        project = Project(
            id=ids.take(STOCK, "project"), seq=seq, name=_project_name(street[1], kind, names, rng),
            district=district, street=street, address=street_address(district, rng),
            housing_type=kind, unit_types=[], buildings=[],
            completed_on=date(rng.randint(2010, 2024), rng.randint(1, 12), rng.randint(1, 28)),
        )  # fmt: skip
        project.unit_types = _plan_unit_types(project, ids, rng)
        for number in range(1, rng.randint(3, 14) + 1):
            if remaining <= 0:
                break
            building = _plan_building(number, remaining, ids, rng)
            project.buildings.append(building)
            remaining -= building.units
        projects.append(project)
    return projects


def _project_name(street: str, kind: str, taken: set[str], rng: random.Random) -> str:
    place = street.removesuffix("街道").removesuffix("镇")
    name = f"{place}{rng.choice(ESTATE_WORDS)}{NAME_SUFFIX[kind]}"
    phase = 1
    while name in taken:
        phase += 1
        name = f"{place}{rng.choice(ESTATE_WORDS)}{NAME_SUFFIX[kind]}（{phase}期）"
    taken.add(name)
    return name


def _plan_unit_types(project: Project, ids: Ids, rng: random.Random) -> list[UnitType]:
    cents = RENT_CENTS.get(project.housing_type)
    rent = rng.randint(*cents) if cents else rng.choice(PUBLIC_RENT_CENTS)
    rent_standard = Decimal(rent).scaleb(-2)
    start = rng.randint(0, 2)
    types = []
    for n, (layout, *_rest, low, high) in enumerate(
        UNIT_TYPES[start : start + rng.randint(2, 4 - start)]
    ):
        usable = Decimal(rng.randint(low * 10, high * 10)).scaleb(-1).quantize(CENT)
        building_area = (usable / Decimal(rng.uniform(0.72, 0.8))).quantize(CENT)
        types.append(UnitType(
            id=ids.take(STOCK, "unit_type"), code="ABCD"[n], layout=layout,
            building_area=building_area, inner_area=((usable + building_area) / 2).quantize(CENT),
            usable_area=usable, rent_standard=rent_standard,
            monthly_rent=(rent_standard * usable).quantize(CENT, ROUND_HALF_UP),
        ))  # fmt: skip
    return types


def _plan_building(number: int, remaining: int, ids: Ids, rng: random.Random) -> Building:
    floors = rng.choice(FLOORS)
    stairwells = rng.randint(1, 2) if floors > 12 else rng.randint(2, 3)
    per_floor = rng.randint(2, 6)
    units = min(remaining, floors * stairwells * per_floor)
    return Building(ids.take(STOCK, "building"), number, floors, stairwells, per_floor, units)


def project_row(project: Project, enterprise_ids: list[int], rng: random.Random) -> Row:
    """The `project` row of a planned project."""
    lng, lat = project.district.centre
    floor_area = sum(_building_area(project, b) for b in project.buildings)
    started = project.completed_on - timedelta(days=rng.randint(540, 1100))
    return {
        "id": project.id,
        "name": project.name,
        "code": f"XM{project.district.code}{project.seq:04d}",
        "housing_type": project.housing_type,
        "supply_target": "directed" if rng.random() < 0.15 else "non_directed",
        "funding_source": rng.choice(("city", "district", "district", "enterprise")),
        "district": project.district.id,
        "street": project.street[0],
        "address": project.address,
        "enterprise": rng.choice(enterprise_ids),
        "responsible_person": person_name(rng.choice(("male", "female")), rng),
        "phone": phone(rng),
        "building_count": len(project.buildings),
        "total_units": sum(b.units for b in project.buildings),
        "land_area": (floor_area / Decimal(rng.uniform(2.0, 3.2))).quantize(CENT),
        "floor_area": floor_area,
        "total_investment": (floor_area * rng.randint(3000, 4500) / 10_000).quantize(CENT),
        "started_on": started,
        "completed_on": project.completed_on,
        "opened_on": project.completed_on + timedelta(days=rng.randint(60, 270)),
        "status": "operating",
        "longitude": Decimal(lng + rng.uniform(-0.06, 0.06)).quantize(MICRO),
        "latitude": Decimal(lat + rng.uniform(-0.05, 0.05)).quantize(MICRO),
        "description": f"{project.name}位于{project.district.name}{project.street[1]}，"
        f"共{len(project.buildings)}栋，由运营企业统一运营管理。",
    }


def _building_area(project: Project, building: Building) -> Decimal:
    """Sum of the building areas of a building's units, from the unit type of each position."""
    areas = [
        project.unit_types[p % len(project.unit_types)].building_area
        for p in range(building.per_floor)
    ]
    full, part = divmod(building.units, building.per_floor)
    return sum(areas, Decimal(0)) * full + sum(areas[:part], Decimal(0))


def unit_type_rows(project: Project) -> list[Row]:
    """The unit types of one project, with their unit counts."""
    counts = dict.fromkeys((t.id for t in project.unit_types), 0)
    for building in project.buildings:
        full, part = divmod(building.units, building.per_floor)
        for position in range(building.per_floor):
            counts[project.unit_types[position % len(project.unit_types)].id] += full + (
                position < part
            )
    return [
        {
            "id": t.id, "project": project.id, "code": t.code, "name": f"{t.code}户型 {_layout(t)[1]}",
            "layout": t.layout, "bedrooms": _layout(t)[2], "living_rooms": _layout(t)[3], "bathrooms": 1,
            "building_area": t.building_area, "usable_area": t.usable_area, "unit_count": counts[t.id],
            "floor_plan": None, "description": None,
        }
        for t in project.unit_types
    ]  # fmt: skip


def _layout(unit_type: UnitType) -> tuple[Any, ...]:
    return next(entry for entry in UNIT_TYPES if entry[0] == unit_type.layout)


def building_rows(project: Project, rng: random.Random) -> list[Row]:
    """The buildings of one project."""
    prefix = f"{project.district.code}-{project.seq:04d}"
    return [
        {
            "id": b.id, "project": project.id, "code": f"{prefix}-{b.number:03d}",
            "building_no": f"{b.number:02d}", "name": f"{b.number:02d}号楼",
            "floors_above_ground": b.floors, "floors_below_ground": 1 if b.floors > 12 else 0,
            "stairwells": b.stairwells, "units_per_floor": b.per_floor, "total_units": b.units,
            "elevator": b.floors > 7,
            "structure": "reinforced_concrete" if b.floors > 7 else rng.choice(("mixed", "reinforced_concrete")),
            "floor_area": _building_area(project, b), "completed_on": project.completed_on,
            "supply_status": "supplied",
        }
        for b in project.buildings
    ]  # fmt: skip


def unit_rows(
    projects: list[Project], let_units: list[LetUnit], ids: Ids, rng: random.Random
) -> Iterator[Row]:
    """Every housing unit, in code order; let public-rental units are noted in `let_units`."""
    random_ = rng.random
    for project in projects:
        district, types = project.district, project.unit_types
        leased = project.housing_type in LEASED_TYPES
        decoration = rng.choice(("simple", "simple", "fine", "bare"))
        for building in project.buildings:
            code = f"{district.code}-{project.seq:04d}-{building.number:03d}-"
            estate = f"{district.code}{project.seq:06d}GB{project.seq:05d}F{building.number:04d}"
            address = f"{project.address}{project.name}{building.number:02d}号楼"
            positions = product(range(1, building.stairwells + 1), range(1, building.floors + 1),
                                range(building.per_floor))  # fmt: skip
            for index, (stairwell, floor, position) in enumerate(
                islice(positions, building.units), 1
            ):
                unit_type = types[position % len(types)]
                status = STATUSES[bisect(STATUS_CUMULATIVE, random_())]
                room = f"{floor:02d}{position + 1:02d}"
                unit_id = ids.take(STOCK, "housing_unit")
                if leased and status == "let":
                    let_units.append(LetUnit(unit_id, unit_type, district))
                yield {
                    "id": unit_id, "code": f"{code}{stairwell:02d}-{room}",
                    "real_estate_unit_code": f"{estate}{index:04d}",
                    "project": project.id, "building": building.id,
                    "district": district.id, "street": project.street[0],
                    "stairwell": f"{stairwell:02d}", "floor": floor, "room_no": room,
                    "unit_type": unit_type.id, "layout": unit_type.layout,
                    "building_area": unit_type.building_area, "inner_area": unit_type.inner_area,
                    "usable_area": unit_type.usable_area,
                    "orientation": ORIENTATIONS[position % len(ORIENTATIONS)],
                    "decoration": decoration, "housing_type": project.housing_type,
                    "rent_standard": unit_type.rent_standard, "monthly_rent": unit_type.monthly_rent,
                    "status": status,
                    "vacant_since": TODAY - timedelta(days=rng.randint(3, 540)) if status == "vacant" else None,
                    "address": f"{address}{stairwell:02d}单元{room}室",
                    "remarks": None,
                }  # fmt: skip


# --- people ---------------------------------------------------------------------------------


def person_name(gender: str, rng: random.Random, surname: str | None = None) -> str:
    given = GIVEN[gender]
    return (surname or rng.choice(SURNAMES)) + "".join(rng.choices(given, k=rng.randint(1, 2)))


def phone(rng: random.Random) -> str:
    return f"{rng.choice(PHONE_PREFIXES)}{rng.randrange(100_000_000):08d}"


def street_address(district: District, rng: random.Random) -> str:
    return f"长沙市{district.name}{rng.choice(district.roads)}{rng.randint(1, 999)}号"


def home_address(district: District, rng: random.Random) -> str:
    room = f"{rng.randint(1, 30)}{rng.randint(1, 4):02d}"
    return f"{street_address(district, rng)}{rng.randint(1, 30)}栋{room}室"


class People:
    """Names and resident ID numbers that are unique across the whole run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def person(
        self, gender: str, age: int, relation: str, area: str, surname: str | None = None
    ) -> Person:
        rng = self.rng
        surname = surname or rng.choice(SURNAMES)
        birth = date(TODAY.year - age, rng.randint(1, 12), rng.randint(1, 28))
        name = person_name(gender, rng, surname)
        return Person(surname, name, gender, birth, self.id_number(area, birth, gender), relation)

    def id_number(self, area: str, birth: date, gender: str) -> str:
        while True:
            serial = self.rng.randrange(500) * 2 + (gender == "male")
            body = f"{area}{birth:%Y%m%d}{serial:03d}"
            number = body + id_check_char(body)
            if number not in self.used:
                self.used.add(number)
                return number


def family(size: int, area: str, people: People) -> tuple[list[Person], str]:
    """The members of a household (applicant first) and the applicant's marital status."""
    rng = people.rng
    gender = rng.choice(("male", "female"))
    other = "female" if gender == "male" else "male"
    couple = size >= 2 and rng.random() < (0.65 if size == 2 else 0.85)
    age = rng.randint(22, 60) if size == 1 else rng.randint(28, 55)
    applicant = people.person(gender, age, "self", area)
    members = [applicant]
    if couple:
        members.append(people.person(other, max(22, age + rng.randint(-5, 5)), "spouse", area))
    father = applicant if gender == "male" else members[1] if couple else applicant
    for _ in range(size - len(members) - (size >= 4 and rng.random() < 0.5)):
        child_age = rng.randint(0, min(age - 23, 25))
        members.append(
            people.person(rng.choice(("male", "female")), child_age, "child", area, father.surname)
        )
    if len(members) < size:
        members.append(
            people.person(
                rng.choice(("male", "female")), min(age + rng.randint(22, 32), 90), "parent", area
            )
        )
    status = (
        "married"
        if couple
        else rng.choice(
            ("unmarried", "divorced", "widowed") if size == 1 else ("divorced", "widowed")
        )
    )
    return members, status


def earnings(person: Person, rng: random.Random) -> tuple[str, int]:
    """Employment and annual income (CNY) of one member, by age."""
    age = TODAY.year - person.birth.year
    if age < 6:
        return "preschool", 0
    if person.relation == "child" and age <= 22:
        return "student", 0
    if age >= 60:
        return "retired", rng.randrange(18_000, 42_000, 100)
    employment = rng.choices(("employed", "flexible", "unemployed"), (60, 30, 10))[0]
    if employment == "unemployed":
        return employment, 0
    low, high = (30_000, 72_000) if employment == "employed" else (12_000, 42_000)
    return employment, rng.randrange(low, high, 100)


def limits(size: int) -> tuple[int, int]:
    """Per-capita annual income and assets a household may have to qualify (low-rent rule)."""
    return (39_600, 120_000) if size >= 3 else (43_560, 132_000)


# --- public rental --------------------------------------------------------------------------


@dataclass
class Context:
    """What every household needs: people, districts, enterprises, reviewers and counters."""

    ids: Ids
    rng: random.Random
    people: People
    districts: list[District]
    enterprise_ids: list[int]
    reviewers: list[str]
    contracts: int = 0


def rental_batches(
    count: int,
    districts: list[District],
    enterprise_ids: list[int],
    let_units: list[LetUnit],
    ids: Ids,
    rng: random.Random,
) -> Iterator[Batch]:
    """Households with members and an application each; the first 60 % lease a let unit."""
    tenants = rng.sample(let_units, min(len(let_units), count * 3 // 5))
    reviewers = [person_name(rng.choice(("male", "female")), rng) for _ in range(12)]
    context = Context(ids, rng, People(rng), districts, enterprise_ids, reviewers)
    tables: dict[str, list[Row]] = {
        "household": [], "household_member": [], "application": [], "lease_contract": []
    }  # fmt: skip
    weights = [d.weight for d in districts]
    for n in range(count):
        lease = tenants[n] if n < len(tenants) else None
        if lease and rng.random() < 0.7:
            district = lease.district
        else:
            district = rng.choices(districts, weights)[0]
        for entity, rows in household_rows(n + 1, district, lease, context).items():
            tables[entity].extend(rows)
    for entity, rows in tables.items():
        yield from batched(RENTAL, entity, rows)


def household_rows(
    seq: int, district: District, lease: LetUnit | None, ctx: Context
) -> dict[str, list[Row]]:
    """One household with its members, its application and, for a tenant, its lease contracts."""
    rng = ctx.rng
    stage = "qualified" if lease else rng.choices(STAGES, STAGE_WEIGHTS)[0]
    size = rng.choices((1, 2, 3, 4, 5), (22, 25, 33, 15, 5))[0]
    members, marital = family(size, district.code, ctx.people)
    work = [earnings(m, rng) for m in members]
    income_limit, asset_limit = limits(size)
    over = sum(i for _, i in work) > income_limit * size
    if over and stage != "rejected":
        factor = income_limit * size / sum(i for _, i in work) * rng.uniform(0.55, 0.95)
        work = [(e, int(i * factor) // 100 * 100) for e, i in work]
    reason = _reject_reason(over, marital, rng) if stage == "rejected" else None
    household = _household(
        ctx.ids.take(RENTAL, "household"), district, members[0], work, marital, ctx
    )
    household["per_capita_assets"] = Decimal(rng.randrange(0, asset_limit * 9 // 10, 100)).quantize(
        CENT
    )
    household["previously_secured"] = reason == REJECT_REASONS[3]
    if reason == REJECT_REASONS[1]:
        household["marital_status_since"] = TODAY - timedelta(days=rng.randint(200, 1000))
    household_id = household["id"]
    member_rows = [
        _member(household_id, m, w, marital, household["phone"], ctx)
        for m, w in zip(members, work, strict=True)
    ]
    application_id = ctx.ids.take(RENTAL, "application")
    contracts: list[Row] = []
    if lease:
        contracts = _contracts(household, application_id, lease, ctx)
        submitted_on = contracts[0]["start_date"] - timedelta(days=rng.randint(90, 240))
    else:
        submitted_on = TODAY - timedelta(days=_elapsed(stage, rng))
    submitted = datetime(
        *submitted_on.timetuple()[:3], rng.randint(1, 9), rng.randint(0, 59), tzinfo=UTC
    )
    household["admission_year"] = submitted_on.year
    application = _application(
        application_id, seq, household, district, stage, submitted, reason, ctx
    )
    if lease:
        application["security_mode"] = "in_kind"
    return {"household": [household], "household_member": member_rows,
            "application": [application], "lease_contract": contracts}  # fmt: skip


def _reject_reason(over: bool, marital: str, rng: random.Random) -> str:
    if over:
        return "家庭人均年收入超过准入标准"
    reasons = [r for r in REJECT_REASONS if marital == "divorced" or r != REJECT_REASONS[1]]
    return rng.choice(reasons)


def _elapsed(stage: str, rng: random.Random) -> int:
    """Days since submission for a case now sitting in `stage`."""
    if stage in STAGE_DAYS:
        return rng.randrange(*STAGE_DAYS[stage])
    return {"qualified": rng.randint(47, 700), "rejected": rng.randint(31, 900)}.get(
        stage
    ) or rng.randint(3, 600)


def _household(
    id_: int,
    district: District,
    applicant: Person,
    work: list[tuple[str, int]],
    marital: str,
    ctx: Context,
) -> Row:
    rng = ctx.rng
    size = len(work)
    total = sum(i for _, i in work)
    situation = rng.choices(("no_housing", "renting", "lodging", "below_standard", "dormitory", "shanty"),
                            (45, 25, 12, 8, 6, 4))[0]  # fmt: skip
    floor_area = Decimal(
        rng.uniform(5, 12) * size if situation in ("below_standard", "shanty") else 0
    ).quantize(CENT)
    allowance = rng.random() < 0.12
    agent = (
        ctx.people.person(
            rng.choice(("male", "female")), rng.randint(30, 60), "other", district.code
        )
        if rng.random() < 0.08
        else None
    )
    age = TODAY.year - applicant.birth.year
    since = {"married": (5, max(6, age - 22)), "divorced": (4, 15), "widowed": (1, 15)}.get(marital)
    return {
        "id": id_, "applicant_name": applicant.name, "id_type": "resident_id",
        "id_number": applicant.id_number, "phone": phone(rng),
        "agent_name": agent.name if agent else None,
        "agent_id_number": agent.id_number if agent else None,
        "agent_phone": phone(rng) if agent else None,
        "hukou_district": district.id, "hukou_street": rng.choice(district.streets)[0],
        "hukou_address": home_address(district, rng), "current_address": home_address(district, rng),
        "employer": rng.choice(EMPLOYERS) if work[0][0] in ("employed", "flexible") else None,
        "household_size": size, "marital_status": marital,
        "marital_status_since": TODAY - timedelta(days=rng.randint(since[0] * 365, since[1] * 365)) if since else None,
        "annual_income": Decimal(total).quantize(CENT),
        "per_capita_income": (Decimal(total) / size).quantize(CENT, ROUND_HALF_UP),
        "per_capita_assets": None, "total_floor_area": floor_area,
        "per_capita_floor_area": (floor_area / size).quantize(CENT, ROUND_HALF_UP),
        "housing_situation": situation,
        "low_income": allowance or total / size < 24_000, "minimum_living_allowance": allowance,
        "allowance_certificate_no": f"DB{district.code}{rng.randrange(10**6):06d}" if allowance else None,
        "allowance_months": rng.randint(6, 60) if allowance else None,
        "previously_secured": False, "admission_year": None, "remarks": None,
    }  # fmt: skip


def _member(
    household_id: int,
    person: Person,
    work: tuple[str, int],
    marital: str,
    applicant_phone: str,
    ctx: Context,
) -> Row:
    rng = ctx.rng
    age = TODAY.year - person.birth.year
    adult = age >= 18
    employment, income = work
    status = {
        "self": marital,
        "spouse": "married",
        "parent": rng.choice(("married", "widowed")),
    }.get(person.relation, "unmarried" if adult else None)
    return {
        "id": ctx.ids.take(RENTAL, "household_member"), "household": household_id,
        "name": person.name, "relation": person.relation, "id_number": person.id_number,
        "gender": person.gender, "birth_date": person.birth, "ethnicity": rng.choice(ETHNICITIES),
        "phone": applicant_phone if person.relation == "self" else phone(rng) if adult else None,
        "hukou_nature": rng.choices(("urban", "resident", "rural"), (50, 35, 15))[0],
        "hukou_years": rng.randint(min(age, 1), max(age, 1)), "is_resident": True,
        "employment": employment,
        "employer": rng.choice(EMPLOYERS) if employment in ("employed", "flexible") else None,
        "education": rng.choice(("junior_high", "senior_high", "senior_high", "college", "bachelor")) if adult else None,
        "marital_status": status, "annual_income": Decimal(income).quantize(CENT),
        "disability_grade": rng.choices(("none", "grade_1", "grade_2", "grade_3", "grade_4"), (94, 1, 1, 2, 2))[0],
        "is_co_applicant": True, "lives_together": person.relation != "parent" or rng.random() < 0.9,
        "is_migrant_worker": adult and rng.random() < 0.15, "is_imported_talent": adult and rng.random() < 0.03,
        "has_provident_fund": employment == "employed" and rng.random() < 0.6,
        "had_welfare_housing": person.relation == "parent" and rng.random() < 0.1,
    }  # fmt: skip


def _application(
    id_: int,
    seq: int,
    household: Row,
    district: District,
    stage: str,
    submitted: datetime,
    reason: str | None,
    ctx: Context,
) -> Row:
    rng = ctx.rng
    day0 = submitted.date()
    pre_failed = reason in REJECT_REASONS[1:4:2]  # marriage and earlier benefits show in pre-review
    passed = stage in ("street_publicity", "centre_review", "announcement", "qualified") or (
        stage == "rejected" and not pre_failed
    )
    reviewed = stage in ("announcement", "qualified", "rejected")
    announced = stage in ("announcement", "qualified")
    qualified_on = day0 + timedelta(days=47) if stage == "qualified" else None
    directed = rng.random() < 0.1
    size = household["household_size"]
    layouts = (
        ("studio", "one_bedroom")
        if size == 1
        else ("one_bedroom", "two_bedroom")
        if size == 2
        else ("two_bedroom", "three_bedroom")
    )
    return {
        "id": id_, "application_no": f"SQ{day0.year}{district.code}{seq:06d}",
        "household": household["id"],
        "security_mode": "in_kind" if rng.random() < 0.8 else "rent_subsidy",
        "application_category": "directed" if directed else "non_directed",
        "business_type": "renewal" if rng.random() < 0.05 else "new",
        "sponsor_enterprise": rng.choice(ctx.enterprise_ids) if directed else None,
        "applied_district": district.id, "applied_street": rng.choice(district.streets)[0],
        "channel": "enterprise" if directed else rng.choices(("mini_program", "web", "terminal", "street_window"), (40, 20, 15, 25))[0],
        "submitted_at": submitted, "admission_year": day0.year,
        "requested_layout": "any" if rng.random() < 0.2 else rng.choice(layouts),
        "stage": stage,
        "pre_review_result": "failed" if pre_failed else "passed" if passed else "pending",
        "publicity_start": day0 + timedelta(days=10) if passed else None,
        "publicity_end": day0 + timedelta(days=17) if passed else None,
        "announcement_start": day0 + timedelta(days=37) if announced else None,
        "announcement_end": day0 + timedelta(days=44) if announced else None,
        "reviewer": rng.choice(ctx.reviewers) if reviewed else None,
        "reviewed_on": day0 + timedelta(days=8 if pre_failed else 30) if reviewed else None,
        "review_opinion": (f"经审核，不符合公租房保障条件：{reason}" if reason else "经审核，符合公租房保障条件") if reviewed else None,
        "reject_reason": reason,
        "confirmation_no": f"ZG{qualified_on.year}{seq:06d}" if qualified_on else None,
        "qualified_on": qualified_on,
        "qualification_valid_until": _add_years(qualified_on, 2) if qualified_on else None,
        "remarks": "申请人主动撤回申请" if stage == "withdrawn" else None,
    }  # fmt: skip


def _contracts(household: Row, application_id: int, lease: LetUnit, ctx: Context) -> list[Row]:
    """The active lease of a tenant, after an expired first term for one tenant in four."""
    rng = ctx.rng
    start = TODAY - timedelta(days=rng.randint(20, 1080))
    starts = [_add_years(start, -3), start] if rng.random() < 0.25 else [start]
    rows: list[Row] = []
    for term_start in starts:
        rows.append(
            _contract(
                household, application_id, lease, term_start, rows[-1]["id"] if rows else None, ctx
            )
        )
    return rows


def _contract(
    household: Row,
    application_id: int,
    lease: LetUnit,
    start: date,
    previous: int | None,
    ctx: Context,
) -> Row:
    rng = ctx.rng
    ctx.contracts += 1
    end = _add_years(start, 3) - timedelta(days=1)
    unit_type = lease.unit_type
    signed = start - timedelta(days=rng.randint(1, 10))
    return {
        "id": ctx.ids.take(RENTAL, "lease_contract"),
        "contract_no": f"HT{start.year}{lease.district.code}{ctx.contracts:06d}",
        "contract_type": "renewal" if previous else "new", "application": application_id,
        "household": household["id"], "housing_unit": lease.id,
        "lessee_name": household["applicant_name"], "lessee_id_number": household["id_number"],
        "lessee_phone": household["phone"], "employer": household["employer"],
        "agent_name": None, "agent_id_number": None,
        "start_date": start, "end_date": end, "term_months": 36,
        "building_area": unit_type.building_area, "usable_area": unit_type.usable_area,
        "rent_standard": unit_type.rent_standard, "monthly_rent": unit_type.monthly_rent,
        "deposit": unit_type.monthly_rent * 2,
        "payment_cycle": rng.choices(("monthly", "quarterly", "half_yearly", "yearly"), (70, 20, 5, 5))[0],
        "payment_method": rng.choices(("bank_deduction", "online", "counter"), (60, 30, 10))[0],
        "status": "active" if end >= TODAY else "expired",
        "signed_at": datetime(signed.year, signed.month, signed.day, rng.randint(1, 9), rng.randint(0, 59), tzinfo=UTC),
        "auto_renew": False, "previous_contract": previous,
        "terminated_on": None, "termination_reason": None, "remarks": None,
    }  # fmt: skip


def _add_years(day: date, years: int) -> date:
    """The same day `years` later (28 February for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
