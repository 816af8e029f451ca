"""Demo data for `housing_stock` and `public_rental`: Changsha estates, units, households, leases.

A pure generator with no database: `generate(units, start_ids)` yields `(app, entity, rows)`
batches in dependency order. Each row maps field names to Python values plus an explicit `id`;
reference fields hold the id of a row yielded earlier. The same seed gives the same rows.

    >>> [entity for _, entity, _ in generate(200, {})][:4]
    ['region', 'enterprise', 'project', 'unit_type']

Codes: house `430104-0012-003-02-0501` (district-project-building-stairwell-floor and room),
building `430104-0012-003`, project `XM4301040012`, application `SQ2025430104000123`,
contract `HT2025430104000088`. ID numbers (GB 11643) and credit codes (GB 32100) have valid
check characters.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate, islice, product
from operator import mul
from typing import Any

Row = dict[str, Any]
Batch = tuple[str, str, list[Row]]

STOCK = "housing_stock"
RENTAL = "public_rental"
BATCH_SIZE = 5_000
MAX_HOUSEHOLDS = 50_000
TODAY = date(2026, 3, 1)  # fixed, so a seed gives the same rows whatever the clock says
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# One district per paragraph: name, GB/T 2260 code, map centre, weight (the 湘江新区 districts
# weigh more); its roads; its streets (a name without 镇 is a 街道).
DISTRICTS_TEXT = """
芙蓉区 430102 113.032 28.186 6
五一大道 韶山北路 八一路 人民东路 远大一路 车站北路
文艺路 朝阳街 韭菜园 五里牌 火星 马王堆 东屯渡 湘湖 定王台 荷花园 东岸 马坡岭

天心区 430103 112.990 28.112 9
芙蓉中路 书院路 湘府中路 新姚南路 披塘路 黑石路
坡子街 城南路 裕南街 金盆岭 新开铺 青园 桂花坪 赤岭路 先锋 黑石铺 大托铺 暮云

岳麓区 430104 112.931 28.235 22
桐梓坡西路 麓谷大道 岳麓大道 金星中路 枫林三路 含浦大道 坪塘大道 梅溪湖路
橘子洲 望岳 岳麓 西湖 咸嘉湖 望城坡 银盆岭 观沙岭 梅溪湖 麓谷 坪塘 含浦 天顶 洋湖 学士

开福区 430105 112.985 28.256 11
芙蓉北路 三一大道 福元西路 金霞路 湘江北路 开福大道 中青路
东风路 湘雅路 望麓园 清水塘 伍家岭 新河 通泰 四方坪 秀峰 洪山 捞刀河 浏阳河 月湖

雨花区 430111 113.035 28.135 11
劳动东路 万家丽中路 韶山中路 环保中路 圭白路 时代阳光大道
侯家塘 左家塘 圭塘 砂子塘 东塘 雨花亭 高桥 洞井 黎托 井湾子 东山 同升

望城区 430112 112.819 28.347 14
雷锋大道 望城大道 郭亮北路 旺旺东路 金星北路 普瑞大道
高塘岭 大泽湖 月亮岛 金山桥 丁字湾 黄金园 白沙洲 乌山 铜官 书堂山

长沙县 430121 113.081 28.246 11
开元东路 星沙大道 东六路 漓湘路 人民东路
星沙 湘龙 泉塘 榔梨 黄兴镇 安沙镇 黄花镇 福临镇

浏阳市 430181 113.643 28.163 5
金沙路 白沙路 北正路 花园路
淮川 集里 荷花 关口 洞阳镇 永安镇 沙市镇

宁乡市 430182 112.551 28.277 9
玉潭北路 花明路 金洲大道 新康路
玉潭 白马桥 历经铺 城郊 金洲镇 夏铎铺镇 双江口镇
"""
COMMUNITIES = _words(
    "桃花岭 枫林 金桥 荷叶塘 白鹤 新民 永安 和平 幸福 阳光 青山 望月 长塘 银杉 紫荆 "
    "玉兰 桂花 松柏 丰泉 双枫 云栖 湘锦 新港 东湖 梅岭 学堂坡 桐梓 咸嘉 茶子山 白沙"
)
SURNAMES = _words(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 邓 曹 彭 "
    "曾 肖 田 袁 蒋 蔡 余 叶 程 苏 魏 丁 任 姚 谭 陆 汪 石 廖 夏 付 方 邹 熊 易 向 龙 贺 文 欧阳"
)
GIVEN_NAMES = {
    "male": _words(
        "伟 强 磊 军 勇 杰 涛 斌 超 明 刚 平 辉 鹏 华 飞 鑫 波 宇 浩 凯 健 俊 帆 旭 宁 龙 林 阳 锋"
    ),
    "female": _words(
        "芳 娜 敏 静 丽 艳 娟 霞 燕 玲 婷 雪 琳 慧 莉 萍 红 梅 颖 倩 洁 佳 琴 丹 晶 欣 怡 悦 璐 瑶"
    ),
}
EMPLOYERS = _words(
    "长沙麓谷精密制造有限公司 湖南星城物流有限公司 长沙湘江保洁服务有限公司 "
    "岳麓区社区卫生服务中心 长沙市公共交通集团有限责任公司 湖南麓山建设工程有限公司 "
    "长沙梅溪湖商业管理有限公司 湖南湘丰餐饮管理有限公司 长沙橘洲家政服务有限公司 "
    "长沙星沙汽车零部件有限公司 望城区环境卫生服务中心 个体经营"
)
ESTATE_WORDS = _words("嘉园 佳苑 新苑 雅苑 家园 花园 景苑 和园 康居 安居 馨园 锦园")
BRANDS = _words(  # 19 brands and 4 kinds give 76 distinct names in turn
    "湘江 麓山 岳麓 梅溪 星城 橘洲 湘诚 楚天 安居 湘江智谷 "
    "城发 先导 芙蓉 望城 雨花 天心 开福 湘投 麓谷"
)
FIRM_KINDS = {
    "住房租赁有限公司": "rental",
    "城市运营管理有限公司": "operating",
    "物业管理有限公司": "property",
    "置业发展有限公司": "state_platform",
}
ETHNICITIES = ("汉族",) * 19 + ("土家族", "苗族", "侗族", "瑶族", "回族")
PHONE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 "
    "173 177 180 181 182 185 186 187 188 189 191 198 199"
)

HOUSING_TYPES = ("public_rental", "affordable_rental", "talent", "low_rent", "market")
HOUSING_WEIGHTS = (60, 18, 8, 8, 6)
LEASED_TYPES = frozenset({"public_rental", "low_rent"})  # the leases of `public_rental`
NAME_SUFFIX = {
    "public_rental": "公租房小区",
    "affordable_rental": "保障性租赁住房",
    "talent": "人才公寓",
    "low_rent": "廉租房小区",
    "market": "租赁社区",
}
RENT_CENTS = {  # rent standard range, fen per m² a month
    "affordable_rental": (1500, 2800),
    "talent": (1800, 3000),
    "low_rent": (100, 150),
    "market": (3000, 4500),
}
PUBLIC_RENT_CENTS = (240, 250, 260, 260, 260, 260, 270, 280, 300)
# layout, name, bedrooms, living rooms, usable area range (m²)
UNIT_TYPES = (
    ("studio", "单间", 1, 0, 30, 35),
    ("one_bedroom", "一室一厅", 1, 1, 36, 45),
    ("two_bedroom", "两室一厅", 2, 1, 46, 58),
    ("three_bedroom", "三室一厅", 3, 1, 59, 70),
)
FLOORS = (6, 7, 11, 12, 18, 18, 24, 26, 28, 30, 32, 33)
ORIENTATIONS = ("south_north", "south", "southeast", "southwest", "north", "east", "west")
STATUSES = ("let", "vacant", "allocated", "reserved", "maintenance", "sealed")
STATUS_CUMULATIVE = (0.76, 0.86, 0.90, 0.94, 0.98)  # 76 % let, 10 % vacant, 4 % allocated...
STAGES = _words(
    "submitted pre_review street_publicity centre_review announcement qualified rejected withdrawn"
)
STAGE_WEIGHTS = tuple(accumulate((4, 8, 8, 12, 6, 34, 20, 5)))
STAGE_DAYS = {  # days after submission a case spends in each open stage
    "submitted": (0, 2),
    "pre_review": (2, 10),
    "street_publicity": (10, 17),
    "centre_review": (17, 37),
    "announcement": (37, 44),
}
PASSED_PRE_REVIEW = frozenset(("street_publicity", "centre_review", "announcement", "qualified"))
INCOME_TOO_HIGH = "家庭人均年收入超过准入标准"
DIVORCED_RECENTLY = "离婚未满三年，不符合申请条件"
SECURED_BEFORE = "已享受其他住房保障待遇"
PRE_REVIEW_REASONS = frozenset((DIVORCED_RECENTLY, SECURED_BEFORE))  # found by the pre-review
OTHER_REASONS = ("家庭成员名下有房产，不符合住房困难条件", "申请材料不全，逾期未补正")

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(body: str) -> str:
    """The GB 11643 check character of a 17-digit resident ID number body."""
    return "10X98765432"[sum(map(mul, map(int, body), ID_WEIGHTS)) % 11]


def uscc_check_char(body: str) -> str:
    """The GB 32100 check character of a 17-character unified social credit code body."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[-total % 31]


def org_check_char(body: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    total = sum(int(c, 36) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    return "0123456789X"[-total % 11]


@dataclass(frozen=True)
class District:
    id: int
    name: str
    code: str
    centre: tuple[float, float]
    weight: int
    roads: tuple[str, ...]
    streets: tuple[tuple[int, str], ...]  # (region id, name)


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
    units: int  # fewer than floors × stairwells × per_floor in the last, cut-short building


@dataclass
class Project:
    id: int
    seq: int  # within its district
    name: str
    district: District
    street: tuple[int, str]
    address: str
    housing_type: str
    completed_on: date
    unit_types: list[UnitType] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)


@dataclass(frozen=True)
class LetUnit:
    """A let public-rental unit, kept for the leases generated after all the units."""

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
    """Consecutive ids per entity, from the first free id the caller gives."""

    def __init__(self, start_ids: Mapping[tuple[str, str], int]) -> None:
        self._next = dict(start_ids)

    def take(self, app: str, entity: str, count: int = 1) -> int:
        """The first of `count` fresh ids."""
        value = self._next.get((app, entity), 1)
        self._next[(app, entity)] = value + count
        return value


def generate(
    units: int, start_ids: Mapping[tuple[str, str], int], seed: int = 2026
) -> Iterator[Batch]:
    """Yield (app, entity, rows) batches in dependency order; rows carry explicit integer `id`s."""
    rng = random.Random(seed)
    ids = Ids(start_ids)
    districts, regions = region_rows(ids, rng)
    yield from batched(STOCK, "region", regions)
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


# --- housing stock -------------------------------------------------------------------------


def region_rows(ids: Ids, rng: random.Random) -> tuple[list[District], list[Row]]:
    """Changsha with its districts, their streets and two communities per street."""
    city = ids.take(STOCK, "region")
    rows = [_region(city, "长沙市", "430100", "city", None, 0)]
    districts = []
    for order, paragraph in enumerate(DISTRICTS_TEXT.strip().split("\n\n"), 1):
        heading, roads, streets = paragraph.splitlines()
        name, code, lng, lat, weight = heading.split()
        district = ids.take(STOCK, "region")
        rows.append(_region(district, name, code, "district", city, order))
        street_ids = []
        for s, street in enumerate(_words(streets), 1):
            street_name = street if street.endswith("镇") else f"{street}街道"
            street_id = ids.take(STOCK, "region")
            street_ids.append((street_id, street_name))
            rows.append(_region(street_id, street_name, f"{code}{s:03d}", "street", district, s))
            rows.extend(_communities(street_id, f"{code}{s:03d}", ids, rng))
        centre = (float(lng), float(lat))
        found = District(
            district, name, code, centre, int(weight), _words(roads), tuple(street_ids)
        )
        districts.append(found)
    return districts, rows


def _communities(street_id: int, street_code: str, ids: Ids, rng: random.Random) -> list[Row]:
    """Two communities of a street, coded with three more digits."""
    return [
        _region(
            ids.take(STOCK, "region"),
            f"{name}社区",
            f"{street_code}{c:03d}",
            "community",
            street_id,
            c,
        )
        for c, name in enumerate(rng.sample(COMMUNITIES, 2), 1)
    ]


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
    kinds = list(FIRM_KINDS)
    rows = []
    for n in range(count):
        district = rng.choice(districts)
        kind = kinds[n % len(kinds)]
        brand = BRANDS[n % len(BRANDS)]
        name = f"长沙{brand}{kind}" if n < len(BRANDS) * len(kinds) else f"长沙{brand}第{n}{kind}"
        rows.append(
            {
                "id": ids.take(STOCK, "enterprise"),
                "name": name,
                "short_name": name.removeprefix("长沙").removesuffix("有限公司")[:30],
                "uscc": uscc(district.code, rng),
                "enterprise_type": FIRM_KINDS[kind],
                "legal_representative": person_name(rng.choice(("male", "female")), rng),
                "contact": person_name(rng.choice(("male", "female")), rng),
                "phone": phone(rng),
                "email": f"service{n + 1:03d}@cs-anju.cn",
                "district": district.id,
                "registered_address": street_address(district, rng),
                "office_address": street_address(district, rng),
                "registered_capital": Decimal(rng.randrange(1_000, 50_000, 100)).quantize(CENT),
                "founded_on": date(rng.randint(1998, 2021), rng.randint(1, 12), rng.randint(1, 28)),
                "business_scope": "住房租赁；物业管理；房地产经纪；停车场服务；家政服务。",
                "credit_score": rng.randint(72, 100),
                "status": "active",
            }
        )
    return rows


def uscc(district_code: str, rng: random.Random) -> str:
    """A unified social credit code for an enterprise registered in `district_code`."""
    org_body = "MA4" + "".join(rng.choices(USCC_CHARS, k=5))
    body = f"91{district_code}{org_body}{org_check_char(org_body)}"
    return body + uscc_check_char(body)


def plan_projects(
    units: int, districts: list[District], ids: Ids, rng: random.Random
) -> list[Project]:
    """Projects and their buildings, the last building cut short so that exactly `units` exist."""
    weights = tuple(accumulate(d.weight for d in districts))
    kinds = tuple(accumulate(HOUSING_WEIGHTS))
    seqs: dict[str, int] = {}
    names: set[str] = set()
    projects: list[Project] = []
    remaining = units
    while remaining > 0:
        district = rng.choices(districts, cum_weights=weights)[0]
        seqs[district.code] = seqs.get(district.code, 0) + 1
        kind = rng.choices(HOUSING_TYPES, cum_weights=kinds)[0] if projects else "public_rental"
        street = rng.choice(district.streets)
        project = Project(
            id=ids.take(STOCK, "project"),
            seq=seqs[district.code],
            name=_project_name(street[1], kind, names, rng),
            district=district,
            street=street,
            address=street_address(district, rng),
            housing_type=kind,
            completed_on=date(rng.randint(2010, 2024), rng.randint(1, 12), rng.randint(1, 28)),
        )
        project.unit_types = _plan_unit_types(kind, ids, rng)
        for number in range(1, rng.randint(3, 14) + 1):
            if remaining <= 0:
                break
            project.buildings.append(_plan_building(number, remaining, ids, rng))
            remaining -= project.buildings[-1].units
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


def _plan_unit_types(kind: str, ids: Ids, rng: random.Random) -> list[UnitType]:
    """Two to four neighbouring unit types sharing the project's rent standard."""
    cents = RENT_CENTS.get(kind)
    rent_standard = Decimal(rng.randint(*cents) if cents else rng.choice(PUBLIC_RENT_CENTS))
    rent_standard = rent_standard.scaleb(-2)
    first = rng.randint(0, 2)
    chosen = UNIT_TYPES[first : first + rng.randint(2, 4 - first)]
    types = []
    for code, (layout, _name, _bedrooms, _living, low, high) in zip("ABCD", chosen, strict=False):
        usable = Decimal(rng.randint(low * 10, high * 10)).scaleb(-1).quantize(CENT)
        building_area = (usable / Decimal(rng.uniform(0.72, 0.8))).quantize(CENT)
        unit_type = UnitType(
            id=ids.take(STOCK, "unit_type"),
            code=code,
            layout=layout,
            building_area=building_area,
            inner_area=((usable + building_area) / 2).quantize(CENT),
            usable_area=usable,
            rent_standard=rent_standard,
            monthly_rent=(rent_standard * usable).quantize(CENT, ROUND_HALF_UP),
        )
        types.append(unit_type)
    return types


def _plan_building(number: int, remaining: int, ids: Ids, rng: random.Random) -> Building:
    floors = rng.choice(FLOORS)
    stairwells = rng.randint(1, 2) if floors > 12 else rng.randint(2, 3)
    per_floor = rng.randint(2, 6)
    units = min(remaining, floors * stairwells * per_floor)
    return Building(ids.take(STOCK, "building"), number, floors, stairwells, per_floor, units)


def _unit_type_at(project: Project, position: int) -> UnitType:
    """Position p on a floor (0-based) always holds the same unit type."""
    return project.unit_types[position % len(project.unit_types)]


def _position_counts(building: Building) -> list[int]:
    """How many units of the building sit at each position on a floor."""
    full, part = divmod(building.units, building.per_floor)
    return [full + (position < part) for position in range(building.per_floor)]


def _floor_area(project: Project, building: Building) -> Decimal:
    counts = _position_counts(building)
    areas = (_unit_type_at(project, p).building_area * n for p, n in enumerate(counts))
    return sum(areas, Decimal("0.00"))


def project_row(project: Project, enterprise_ids: list[int], rng: random.Random) -> Row:
    """The `project` row of a planned project."""
    lng, lat = project.district.centre
    floor_area = sum((_floor_area(project, b) for b in project.buildings), Decimal("0.00"))
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
        "started_on": project.completed_on - timedelta(days=rng.randint(540, 1100)),
        "completed_on": project.completed_on,
        "opened_on": project.completed_on + timedelta(days=rng.randint(60, 270)),
        "status": "operating",
        "longitude": Decimal(lng + rng.uniform(-0.06, 0.06)).quantize(MICRO),
        "latitude": Decimal(lat + rng.uniform(-0.05, 0.05)).quantize(MICRO),
        "description": f"{project.name}位于{project.district.name}{project.street[1]}，"
        f"共{len(project.buildings)}栋，由运营企业统一运营管理。",
    }


def unit_type_rows(project: Project) -> list[Row]:
    """The unit types of one project, each with its number of units."""
    counts = dict.fromkeys((t.id for t in project.unit_types), 0)
    for building in project.buildings:
        for position, count in enumerate(_position_counts(building)):
            counts[_unit_type_at(project, position).id] += count
    layouts = {entry[0]: entry for entry in UNIT_TYPES}
    return [
        {
            "id": t.id,
            "project": project.id,
            "code": t.code,
            "name": f"{t.code}户型 {layouts[t.layout][1]}",
            "layout": t.layout,
            "bedrooms": layouts[t.layout][2],
            "living_rooms": layouts[t.layout][3],
            "bathrooms": 1,
            "building_area": t.building_area,
            "usable_area": t.usable_area,
            "unit_count": counts[t.id],
            "floor_plan": None,
            "description": None,
        }
        for t in project.unit_types
    ]


def building_rows(project: Project, rng: random.Random) -> list[Row]:
    """The buildings of one project."""
    prefix = f"{project.district.code}-{project.seq:04d}"
    return [
        {
            "id": b.id,
            "project": project.id,
            "code": f"{prefix}-{b.number:03d}",
            "building_no": f"{b.number:02d}",
            "name": f"{b.number:02d}号楼",
            "floors_above_ground": b.floors,
            "floors_below_ground": 1 if b.floors > 12 else 0,
            "stairwells": b.stairwells,
            "units_per_floor": b.per_floor,
            "total_units": b.units,
            "elevator": b.floors > 7,
            "structure": "reinforced_concrete"
            if b.floors > 7
            else rng.choice(("mixed", "brick_wood")),
            "floor_area": _floor_area(project, b),
            "completed_on": project.completed_on,
            "supply_status": "supplied",
        }
        for b in project.buildings
    ]


def unit_rows(
    projects: list[Project], let_units: list[LetUnit], ids: Ids, rng: random.Random
) -> Iterator[Row]:
    """Every housing unit in code order; let public-rental units are noted in `let_units`."""
    random_ = rng.random
    total = sum(b.units for p in projects for b in p.buildings)
    first_id = ids.take(STOCK, "housing_unit", total)
    unit_ids = iter(range(first_id, first_id + total))
    for project in projects:
        district = project.district
        leased = project.housing_type in LEASED_TYPES
        decoration = rng.choice(("simple", "simple", "fine", "bare"))
        for building in project.buildings:
            code = f"{district.code}-{project.seq:04d}-{building.number:03d}-"
            estate = f"{district.code}{project.seq:06d}GB{project.seq:05d}F{building.number:04d}"
            address = f"{project.address}{project.name}{building.number:02d}号楼"
            places = product(
                range(1, building.stairwells + 1),
                range(1, building.floors + 1),
                range(building.per_floor),
            )
            for index, (stairwell, floor, position) in enumerate(islice(places, building.units), 1):
                unit_type = _unit_type_at(project, position)
                status = STATUSES[bisect(STATUS_CUMULATIVE, random_())]
                room = f"{floor:02d}{position + 1:02d}"
                unit_id = next(unit_ids)
                if leased and status == "let":
                    let_units.append(LetUnit(unit_id, unit_type, district))
                vacant_days = rng.randint(3, 540) if status == "vacant" else None
                yield {
                    "id": unit_id,
                    "code": f"{code}{stairwell:02d}-{room}",
                    "real_estate_unit_code": f"{estate}{index:04d}",
                    "project": project.id,
                    "building": building.id,
                    "district": district.id,
                    "street": project.street[0],
                    "stairwell": f"{stairwell:02d}",
                    "floor": floor,
                    "room_no": room,
                    "unit_type": unit_type.id,
                    "layout": unit_type.layout,
                    "building_area": unit_type.building_area,
                    "inner_area": unit_type.inner_area,
                    "usable_area": unit_type.usable_area,
                    "orientation": ORIENTATIONS[position % len(ORIENTATIONS)],
                    "decoration": decoration,
                    "housing_type": project.housing_type,
                    "rent_standard": unit_type.rent_standard,
                    "monthly_rent": unit_type.monthly_rent,
                    "status": status,
                    "vacant_since": TODAY - timedelta(days=vacant_days) if vacant_days else None,
                    "address": f"{address}{stairwell:02d}单元{room}室",
                    "remarks": None,
                }


# --- people --------------------------------------------------------------------------------


def person_name(gender: str, rng: random.Random, surname: str | None = None) -> str:
    given = "".join(rng.choices(GIVEN_NAMES[gender], k=1 + (rng.random() < 0.7)))
    return (surname or rng.choice(SURNAMES)) + given


def phone(rng: random.Random) -> str:
    return f"{rng.choice(PHONE_PREFIXES)}{int(rng.random() * 100_000_000):08d}"


def street_address(district: District, rng: random.Random) -> str:
    return f"长沙市{district.name}{rng.choice(district.roads)}{rng.randint(1, 999)}号"


def home_address(district: District, rng: random.Random) -> str:
    building, floor, door = rng.randint(1, 30), rng.randint(1, 30), rng.randint(1, 4)
    return f"{street_address(district, rng)}{building}栋{floor}{door:02d}室"


def either(rng: random.Random) -> str:
    return "male" if rng.random() < 0.5 else "female"


class People:
    """People whose resident ID numbers are unique across the whole run."""

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
        """A GB 11643 number: area, birth date, serial (odd for men) and check character."""
        while True:
            serial = int(self.rng.random() * 500) * 2 + (gender == "male")
            body = f"{area}{birth.year}{birth.month:02d}{birth.day:02d}{serial:03d}"
            number = body + id_check_char(body)
            if number not in self.used:
                self.used.add(number)
                return number


def family(size: int, area: str, people: People) -> tuple[list[Person], str]:
    """The members of a household, applicant first, and the applicant's marital status."""
    rng = people.rng
    gender = either(rng)
    couple = size >= 2 and rng.random() < (0.65 if size == 2 else 0.85)
    age = rng.randint(22, 60) if size == 1 else rng.randint(28, 55)
    members = [people.person(gender, age, "self", area)]
    if couple:
        spouse = "female" if gender == "male" else "male"
        members.append(people.person(spouse, max(22, age + rng.randint(-5, 5)), "spouse", area))
    father = members[1] if couple and gender == "female" else members[0]
    with_parent = size >= 4 and rng.random() < 0.5
    for _ in range(size - len(members) - with_parent):
        child_age = rng.randint(0, min(age - 23, 25))
        members.append(people.person(either(rng), child_age, "child", area, father.surname))
    if with_parent:
        members.append(
            people.person(either(rng), min(age + rng.randint(22, 32), 90), "parent", area)
        )
    if couple:
        return members, "married"
    singles = ("unmarried", "divorced", "widowed") if size == 1 else ("divorced", "widowed")
    return members, rng.choice(singles)


def earnings(person: Person, rng: random.Random) -> tuple[str, int]:
    """Employment and annual income (CNY) of one member, by age."""
    age = TODAY.year - person.birth.year
    if age < 6:
        return "preschool", 0
    if person.relation == "child" and age <= 22:
        return "student", 0
    if age >= 60:
        return "retired", rng.randrange(18_000, 42_000, 100)
    draw = rng.random()
    if draw < 0.1:
        return "unemployed", 0
    if draw < 0.4:
        return "flexible", rng.randrange(12_000, 42_000, 100)
    return "employed", rng.randrange(30_000, 72_000, 100)


def limits(size: int) -> tuple[int, int]:
    """Highest per-capita annual income and assets with which a household qualifies."""
    return (39_600, 120_000) if size >= 3 else (43_560, 132_000)


# --- public rental -------------------------------------------------------------------------


@dataclass
class Context:
    """What every household draws on: ids, randomness, people, districts and counters."""

    ids: Ids
    rng: random.Random
    people: People
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
    """Households with members and one application each; the first 60 % lease a let unit."""
    tenants = rng.sample(let_units, min(len(let_units), count * 3 // 5))
    reviewers = [person_name(either(rng), rng) for _ in range(12)]
    context = Context(ids, rng, People(rng), enterprise_ids, reviewers)
    weights = tuple(accumulate(d.weight for d in districts))
    tables: dict[str, list[Row]] = {
        "household": [],
        "household_member": [],
        "application": [],
        "lease_contract": [],
    }
    for n in range(count):
        lease = tenants[n] if n < len(tenants) else None
        district = rng.choices(districts, cum_weights=weights)[0]
        if lease and rng.random() < 0.7:
            district = lease.district
        for entity, rows in household_rows(n + 1, district, lease, context).items():
            tables[entity].extend(rows)
    for entity, rows in tables.items():
        yield from batched(RENTAL, entity, rows)


def household_rows(
    seq: int, district: District, lease: LetUnit | None, ctx: Context
) -> dict[str, list[Row]]:
    """One household with its members, its application and, for a tenant, its leases."""
    rng = ctx.rng
    stage = "qualified" if lease else rng.choices(STAGES, cum_weights=STAGE_WEIGHTS)[0]
    size = rng.choices((1, 2, 3, 4, 5), cum_weights=(22, 47, 80, 95, 100))[0]
    members, marital = family(size, district.code, ctx.people)
    work, over = _work_within_limits([earnings(m, rng) for m in members], stage, rng)
    reason = _reject_reason(over, marital, rng) if stage == "rejected" else None
    household = _household(district, members[0], work, marital, ctx)
    assets = Decimal(rng.randrange(0, limits(size)[1] * 9 // 10, 100))
    household["per_capita_assets"] = assets.quantize(CENT)
    household["previously_secured"] = reason == SECURED_BEFORE
    if reason == DIVORCED_RECENTLY:
        household["marital_status_since"] = TODAY - timedelta(days=rng.randint(200, 1000))
    members_rows = [
        _member(household, person, earned, marital, ctx)
        for person, earned in zip(members, work, strict=True)
    ]
    application_id = ctx.ids.take(RENTAL, "application")
    contracts = _contracts(household, application_id, lease, ctx) if lease else []
    submitted = _submitted_at(stage, contracts, rng)
    household["admission_year"] = submitted.year
    applied = lease.district if lease else district  # tenants applied where they now live
    application = _application(application_id, seq, household, applied, stage, submitted, ctx)
    application["reject_reason"] = reason
    _fill_progress(application, stage, reason, ctx)
    if lease:
        application["security_mode"] = "in_kind"
    return {
        "household": [household],
        "household_member": members_rows,
        "application": [application],
        "lease_contract": contracts,
    }


def _work_within_limits(
    work: list[tuple[str, int]], stage: str, rng: random.Random
) -> tuple[list[tuple[str, int]], bool]:
    """Incomes scaled under the limit unless the case is rejected; and whether they were over."""
    income_limit = limits(len(work))[0] * len(work)
    total = sum(income for _, income in work)
    if total <= income_limit or stage == "rejected":
        return work, total > income_limit
    factor = income_limit / total * rng.uniform(0.55, 0.95)
    return [(employment, int(i * factor) // 100 * 100) for employment, i in work], True


def _submitted_at(stage: str, contracts: list[Row], rng: random.Random) -> datetime:
    """When an application was filed: months before the first lease, or by its stage today."""
    if contracts:
        day = contracts[0]["start_date"] - timedelta(days=rng.randint(90, 240))
    else:
        day = TODAY - timedelta(days=_days_since_submission(stage, rng))
    moment = datetime.combine(day, datetime.min.time(), UTC)
    return moment + timedelta(minutes=rng.randint(60, 540))  # 09:00-17:00 Beijing time


def _reject_reason(over: bool, marital: str, rng: random.Random) -> str:
    if over:
        return INCOME_TOO_HIGH
    reasons = (SECURED_BEFORE, *OTHER_REASONS)
    return rng.choice((DIVORCED_RECENTLY, *reasons) if marital == "divorced" else reasons)


def _days_since_submission(stage: str, rng: random.Random) -> int:
    """Days since submission for a case that sits in `stage` today."""
    if stage in STAGE_DAYS:
        return rng.randrange(*STAGE_DAYS[stage])
    if stage == "qualified":
        return rng.randint(47, 700)
    if stage == "rejected":
        return rng.randint(31, 900)
    return rng.randint(3, 600)


def _household(
    district: District, applicant: Person, work: list[tuple[str, int]], marital: str, ctx: Context
) -> Row:
    rng = ctx.rng
    size = len(work)
    total = sum(income for _, income in work)
    situation = rng.choices(
        ("no_housing", "renting", "lodging", "below_standard", "dormitory", "shanty"),
        cum_weights=(45, 70, 82, 90, 96, 100),
    )[0]
    crowded = situation in ("below_standard", "shanty")
    floor_area = Decimal(rng.uniform(5, 12) * size if crowded else 0).quantize(CENT)
    allowance = rng.random() < 0.12
    agent = None
    if rng.random() < 0.08:
        agent = ctx.people.person(either(rng), rng.randint(30, 60), "other", district.code)
    return {
        "id": ctx.ids.take(RENTAL, "household"),
        "applicant_name": applicant.name,
        "id_type": "resident_id",
        "id_number": applicant.id_number,
        "phone": phone(rng),
        "agent_name": agent.name if agent else None,
        "agent_id_number": agent.id_number if agent else None,
        "agent_phone": phone(rng) if agent else None,
        "hukou_district": district.id,
        "hukou_street": rng.choice(district.streets)[0],
        "hukou_address": home_address(district, rng),
        "current_address": home_address(district, rng),
        "employer": rng.choice(EMPLOYERS) if work[0][0] in ("employed", "flexible") else None,
        "household_size": size,
        "marital_status": marital,
        "marital_status_since": _marital_since(marital, applicant, rng),
        "annual_income": Decimal(total).quantize(CENT),
        "per_capita_income": (Decimal(total) / size).quantize(CENT, ROUND_HALF_UP),
        "per_capita_assets": None,
        "total_floor_area": floor_area,
        "per_capita_floor_area": (floor_area / size).quantize(CENT, ROUND_HALF_UP),
        "housing_situation": situation,
        "low_income": allowance or total / size < 24_000,
        "minimum_living_allowance": allowance,
        "allowance_certificate_no": f"DB{district.code}{rng.randrange(10**6):06d}"
        if allowance
        else None,
        "allowance_months": rng.randint(6, 60) if allowance else None,
        "previously_secured": False,
        "admission_year": None,
        "remarks": None,
    }


def _marital_since(marital: str, applicant: Person, rng: random.Random) -> date | None:
    """When the applicant married, divorced or was widowed, long enough ago to qualify."""
    age = TODAY.year - applicant.birth.year
    years = {"married": (5, max(6, age - 22)), "divorced": (4, 15), "widowed": (1, 15)}.get(marital)
    return TODAY - timedelta(days=rng.randint(years[0] * 365, years[1] * 365)) if years else None


def _member(
    household: Row, person: Person, work: tuple[str, int], marital: str, ctx: Context
) -> Row:
    rng = ctx.rng
    age = TODAY.year - person.birth.year
    adult = age >= 18
    employment, income = work
    statuses = {"self": marital, "spouse": "married", "parent": rng.choice(("married", "widowed"))}
    working = employment in ("employed", "flexible")
    return {
        "id": ctx.ids.take(RENTAL, "household_member"),
        "household": household["id"],
        "name": person.name,
        "relation": person.relation,
        "id_number": person.id_number,
        "gender": person.gender,
        "birth_date": person.birth,
        "ethnicity": rng.choice(ETHNICITIES),
        "phone": household["phone"] if person.relation == "self" else phone(rng) if adult else None,
        "hukou_nature": rng.choices(("urban", "resident", "rural"), cum_weights=(50, 85, 100))[0],
        "hukou_years": rng.randint(min(age, 1), max(age, 1)),
        "is_resident": True,
        "employment": employment,
        "employer": rng.choice(EMPLOYERS) if working else None,
        "education": rng.choice(("junior_high", "senior_high", "college", "bachelor"))
        if adult
        else None,
        "marital_status": statuses.get(person.relation, "unmarried" if adult else None),
        "annual_income": Decimal(income).quantize(CENT),
        "disability_grade": "none" if rng.random() < 0.94 else rng.choice(("grade_3", "grade_4")),
        "is_co_applicant": True,
        "lives_together": person.relation != "parent" or rng.random() < 0.9,
        "is_migrant_worker": adult and rng.random() < 0.15,
        "is_imported_talent": adult and rng.random() < 0.03,
        "has_provident_fund": employment == "employed" and rng.random() < 0.6,
        "had_welfare_housing": person.relation == "parent" and rng.random() < 0.1,
    }


def _application(
    id_: int,
    seq: int,
    household: Row,
    district: District,
    stage: str,
    submitted: datetime,
    ctx: Context,
) -> Row:
    """An application as filed; `_fill_progress` adds what its stage has reached."""
    rng = ctx.rng
    directed = rng.random() < 0.1
    size = household["household_size"]
    layouts = ("studio", "one_bedroom", "two_bedroom", "three_bedroom")[min(size, 3) - 1 :][:2]
    channels = ("mini_program", "web", "terminal", "street_window")
    return {
        "id": id_,
        "application_no": f"SQ{submitted.year}{district.code}{seq:06d}",
        "household": household["id"],
        "security_mode": "in_kind" if rng.random() < 0.8 else "rent_subsidy",
        "application_category": "directed" if directed else "non_directed",
        "business_type": "renewal" if rng.random() < 0.05 else "new",
        "sponsor_enterprise": rng.choice(ctx.enterprise_ids) if directed else None,
        "applied_district": district.id,
        "applied_street": rng.choice(district.streets)[0],
        "channel": "enterprise"
        if directed
        else rng.choices(channels, cum_weights=(40, 60, 75, 100))[0],
        "submitted_at": submitted,
        "admission_year": submitted.year,
        "requested_layout": "any" if rng.random() < 0.2 else rng.choice(layouts),
        "stage": stage,
        "pre_review_result": "pending",
        "publicity_start": None,
        "publicity_end": None,
        "announcement_start": None,
        "announcement_end": None,
        "reviewer": None,
        "reviewed_on": None,
        "review_opinion": None,
        "reject_reason": None,
        "confirmation_no": None,
        "qualified_on": None,
        "qualification_valid_until": None,
        "remarks": "申请人主动撤回申请" if stage == "withdrawn" else None,
    }


def _fill_progress(application: Row, stage: str, reason: str | None, ctx: Context) -> None:
    """Dates and results of the steps an application has passed: publicity is day 10-17."""
    day0 = application["submitted_at"].date()
    pre_failed = reason in PRE_REVIEW_REASONS
    if stage in PASSED_PRE_REVIEW or (stage == "rejected" and not pre_failed):
        application["pre_review_result"] = "passed"
        application["publicity_start"] = day0 + timedelta(days=10)
        application["publicity_end"] = day0 + timedelta(days=17)
    if stage in ("announcement", "qualified", "rejected"):
        application["pre_review_result"] = "failed" if pre_failed else "passed"
        application["reviewer"] = ctx.rng.choice(ctx.reviewers)
        application["reviewed_on"] = day0 + timedelta(days=8 if pre_failed else 30)
        outcome = f"不符合公租房保障条件：{reason}" if reason else "符合公租房保障条件"
        application["review_opinion"] = f"经审核，{outcome}"
    if stage in ("announcement", "qualified"):
        application["announcement_start"] = day0 + timedelta(days=37)
        application["announcement_end"] = day0 + timedelta(days=44)
    if stage == "qualified":
        qualified_on = day0 + timedelta(days=47)
        application["qualified_on"] = qualified_on
        application["qualification_valid_until"] = _add_years(qualified_on, 2)
        application["confirmation_no"] = f"ZG{qualified_on.year}{application['id']:08d}"


def _contracts(household: Row, application_id: int, lease: LetUnit, ctx: Context) -> list[Row]:
    """The active lease of a tenant; one tenant in four renewed after a first, expired term."""
    start = TODAY - timedelta(days=ctx.rng.randint(20, 1080))
    starts = [_add_years(start, -3), start] if ctx.rng.random() < 0.25 else [start]
    rows: list[Row] = []
    for term_start in starts:
        previous = rows[-1]["id"] if rows else None
        rows.append(_contract(household, application_id, lease, term_start, previous, ctx))
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
    signed = datetime.combine(start - timedelta(days=rng.randint(1, 10)), datetime.min.time(), UTC)
    return {
        "id": ctx.ids.take(RENTAL, "lease_contract"),
        "contract_no": f"HT{start.year}{lease.district.code}{ctx.contracts:06d}",
        "contract_type": "renewal" if previous else "new",
        "application": application_id,
        "household": household["id"],
        "housing_unit": lease.id,
        "lessee_name": household["applicant_name"],
        "lessee_id_number": household["id_number"],
        "lessee_phone": household["phone"],
        "employer": household["employer"],
        "agent_name": None,
        "agent_id_number": None,
        "start_date": start,
        "end_date": end,
        "term_months": 36,
        "building_area": unit_type.building_area,
        "usable_area": unit_type.usable_area,
        "rent_standard": unit_type.rent_standard,
        "monthly_rent": unit_type.monthly_rent,
        "deposit": unit_type.monthly_rent * 2,
        "payment_cycle": _pick(
            rng, ("monthly", "quarterly", "half_yearly", "yearly"), (70, 90, 95)
        ),
        "payment_method": _pick(rng, ("bank_deduction", "online", "counter"), (60, 90)),
        "status": "active" if end >= TODAY else "expired",
        "signed_at": signed + timedelta(minutes=rng.randint(60, 540)),
        "auto_renew": False,
        "previous_contract": previous,
        "terminated_on": None,
        "termination_reason": None,
        "remarks": None,
    }


def _pick(rng: random.Random, options: Sequence[str], cumulative_percent: Sequence[int]) -> str:
    """One of `options`, the last taking what the cumulative percentages leave."""
    return options[bisect(cumulative_percent, rng.random() * 100)]


def _add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
