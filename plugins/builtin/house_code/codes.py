"""House codes (一房一码): reading one, building one from its parts, and checking that a
unit's code agrees with where the unit is.

A code is district (6 digits, GB/T 2260) - project (4) - building (3) - stairwell (2) - floor
and room (2 + 2), e.g. `430104-0012-003-02-0501`: floor 5, room 01. Its first 15 characters
are the building's own code (`430104-0012-003`).

The code carries no check character, so that the codes already issued stay valid. A mistyped
code is caught instead by comparing it with the unit's other fields, which a typist enters
separately: district, building, stairwell, floor and room number. A typo in any digit of the
code then disagrees with one of them (see `location_problems`).

    >>> build_code("430104", 12, "003", 2, 5, 1)
    '430104-0012-003-02-0501'
    >>> HouseCode.parse("430104-0012-003-02-0501").floor
    5
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.expressions.functions import ArgumentProblem, Function
from engine.expressions.types import Type

if TYPE_CHECKING:
    from engine.expressions.typed import Typed

CODE = re.compile(r"([0-9]{6})-([0-9]{4})-([0-9]{3})-([0-9]{2})-([0-9]{2})([0-9]{2})")
EXAMPLE = "430104-0012-003-02-0501"
PARTS = ("district", "project_no", "building_no", "stairwell", "floor", "room")
WIDTHS = (6, 4, 3, 2, 2)  # district, project, building, stairwell, floor


@dataclass(frozen=True)
class HouseCode:
    """A code taken apart: `district` keeps its leading zeros; the others are numbers."""

    district: str
    project: int
    building: int
    stairwell: int
    floor: int
    room: int

    @classmethod
    def parse(cls, text: str) -> HouseCode | None:
        """The parts of `text`, or None when it is not a code of this format."""
        found = CODE.fullmatch(text)
        if found is None:
            return None
        district, *numbers = found.groups()
        project, building, stairwell, floor, room = (int(n) for n in numbers)
        return cls(district, project, building, stairwell, floor, room)

    @property
    def building_code(self) -> str:
        """The code of the building the unit is in: `430104-0012-003`."""
        return f"{self.district}-{self.project:04d}-{self.building:03d}"

    def __str__(self) -> str:
        return f"{self.building_code}-{self.stairwell:02d}-{self.floor:02d}{self.room:02d}"


def _number(part: str | int, digits: int) -> int | None:
    """A whole number or a text of digits that fits in `digits` digits; else None."""
    if isinstance(part, str):
        part = part.strip()
        if not part.isascii() or not part.isdigit():
            return None
        part = int(part)
    return part if 0 <= part < 10**digits else None


def build_code(
    district: str | int,
    project_no: str | int,
    building_no: str | int,
    stairwell: str | int,
    floor: str | int,
    room: str | int,
) -> str | None:
    """The code of a unit from its parts, or None when a part does not fit the format.

    `room` is the room on the floor (`1`, `"01"`) or, as the `room_no` field stores it, floor
    and room together (`"0501"`), whose floor must then be `floor`. Floors below ground have
    no code of this format.

        >>> build_code("430104", "0012", 3, "02", 5, "0501")
        '430104-0012-003-02-0501'
        >>> build_code("430104", 12, 3, 2, 6, "0501") is None  # the room is on floor 5
        True
    """
    if isinstance(district, int):
        district = f"{district:06d}"
    district = district.strip()
    if not re.fullmatch(r"[0-9]{6}", district):
        return None
    parts = (project_no, building_no, stairwell, floor)
    numbers = [_number(part, width) for part, width in zip(parts, WIDTHS[1:], strict=True)]
    room_number = _number(room, 4)
    if None in numbers or room_number is None:
        return None
    project, building, stairwell_no, floor_no = (n for n in numbers if n is not None)
    if room_number >= 100:  # floor and room together
        if room_number // 100 != floor_no:
            return None
        room_number %= 100
    return str(HouseCode(district, project, building, stairwell_no, floor_no, room_number))


def _house_code_returns(types: list[Type], _args: Sequence[Typed]) -> Type:
    for index, kind in enumerate(types):
        if kind.kind not in ("string", "integer", "null"):
            raise ArgumentProblem(
                index,
                f"argument {index + 1} ({PARTS[index]}) must be text or a whole number, not {kind}",
            )
    return Type("string")  # null when a part does not fit


HOUSE_CODE_FUNCTION = Function(
    name="house_code",
    arity=(6, 6),
    returns=_house_code_returns,
    python=build_code,
    doc="house_code(district, project_no, building_no, stairwell, floor, room): the "
    f"one-house-one-code of a unit, e.g. {EXAMPLE}; null when a part does not fit.",
)


@dataclass(frozen=True)
class Location:
    """Where a unit is, by its fields other than the code: the district's division code, the
    building's code, and the stairwell, floor and room number as entered."""

    district_code: str | None = None
    building_code: str | None = None
    stairwell: str | None = None
    floor: int | None = None
    room_no: str | None = None


MESSAGES = {
    "format": {
        "zh": f"房屋编码应为 区县6位-项目4位-楼栋3位-单元2位-楼层房号4位，如 {EXAMPLE}",
        "en": "a house code is district (6 digits)-project (4)-building (3)-stairwell (2)-"
        f"floor and room (4), e.g. {EXAMPLE}",
    },
    "district": {
        "zh": "房屋编码的区县代码 {found} 与所在城区的代码 {expected} 不符",
        "en": "the code's district {found} is not the district's code {expected}",
    },
    "building": {
        "zh": "房屋编码应以所属楼栋的编码 {expected} 开头，而非 {found}",
        "en": "the code must start with its building's code {expected}, not {found}",
    },
    "stairwell": {
        "zh": "房屋编码的单元 {found} 与单元 {expected} 不符",
        "en": "the code's stairwell {found} is not the stairwell {expected}",
    },
    "floor": {
        "zh": "房屋编码的楼层 {found} 与所在楼层 {expected} 不符",
        "en": "the code's floor {found} is not the floor {expected}",
    },
    "room": {
        "zh": "房屋编码的房号 {found} 与房号 {expected} 不符",
        "en": "the code's room {found} is not the room number {expected}",
    },
}


def _message(kind: str, language: str, found: object = "", expected: object = "") -> str:
    texts = MESSAGES[kind]
    return texts.get(language, texts["zh"]).format(found=found, expected=expected)


def _digits(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def location_problems(code: str, where: Location, language: str = "zh") -> list[str]:
    """What in `code` disagrees with the unit's location; nothing when all agree.

    A part is compared only where the field gives something to compare with: a stairwell
    named by letters, a floor below ground or a room number like `A501` are not checked.

        >>> location_problems("430104-0012-003-02-0501", Location(floor=6), "en")
        ["the code's floor 05 is not the floor 6"]
    """
    parsed = HouseCode.parse(code)
    if parsed is None:
        return [_message("format", language)]
    problems = []
    district = where.district_code
    if district is not None and len(district) == 6 and district != parsed.district:
        problems.append(_message("district", language, parsed.district, district))
    building = where.building_code
    if building is not None and building != parsed.building_code:
        problems.append(_message("building", language, parsed.building_code, building))
    stairwell = _digits(where.stairwell)
    if stairwell is not None and stairwell != parsed.stairwell:
        found = f"{parsed.stairwell:02d}"
        problems.append(_message("stairwell", language, found, where.stairwell))
    floor = where.floor
    if floor is not None and 0 <= floor < 100 and floor != parsed.floor:
        problems.append(_message("floor", language, f"{parsed.floor:02d}", floor))
    room = _digits(where.room_no)
    if room is not None and room not in (parsed.room, parsed.floor * 100 + parsed.room):
        found = f"{parsed.floor:02d}{parsed.room:02d}"
        problems.append(_message("room", language, found, where.room_no))
    return problems
