"""Shared pieces of the demo data: vocabularies, code check characters, plan records."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import accumulate, islice
from typing import Any

from plugins.builtin.identity_numbers import id_check_digit

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

SLOW_STATUS_CUMULATIVE = (0.52, 0.86, 0.90, 0.94, 0.98)  # a project letting slowly: 34 % vacant

OPERATING_YEARS = 16  # a project's operating term from its opening

# The states of `flows/application.yaml` an application rests in, and how often: most
# cases are closed (qualified, rejected, withdrawn) or back with the family (returned).
STATES = _words(
    "draft street_review street_publicity district_review announcement "
    "qualified rejected returned withdrawn"
)

STATE_WEIGHTS = tuple(accumulate((2, 5, 6, 10, 5, 34, 14, 16, 8)))

ACTIVE_STATES = ("street_review", "street_publicity", "district_review", "announcement")

# The flow's params the demo follows (flows/application.yaml)
PUBLICITY_DAYS = 7

ANNOUNCEMENT_DAYS = 7

VALIDITY_YEARS = 2

STREET_DAYS = 2  # working days a street takes to verify the documents

CENTRE_DAYS = 4  # working days the centre's two reviews take

CENTRE_REJECTIONS = ("家庭成员名下有房产，不符合住房困难条件", "申请材料不全，经通知逾期未补正")

SUPPLEMENTS = ("请补充近一年的收入证明", "请补充户籍所在地社区出具的住房情况证明")


ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(body: str) -> str:
    """The GB 11643 check character of a 17-digit resident ID number body."""
    return id_check_digit(body)


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


def batched(app: str, entity: str, rows: Iterable[Row]) -> Iterator[Batch]:
    """Cut rows into batches of at most BATCH_SIZE."""
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_SIZE)):
        yield app, entity, batch


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


def _pick(rng: random.Random, options: Sequence[str], cumulative_percent: Sequence[int]) -> str:
    """One of `options`, the last taking what the cumulative percentages leave."""
    return options[bisect(cumulative_percent, rng.random() * 100)]


def _add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
