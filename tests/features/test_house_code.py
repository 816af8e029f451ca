"""One house, one code over HTTP with the shipped `apps_config/`: staff fetch a unit's QR code,
anyone who scans it sees the unit's verified status (and nothing about its tenants), and the
public pages cannot be reached by walking the codes.

The unit is room 0501 of 洋湖公租房小区 building 1 in 橘子洲街道 (Yuelu district), let to
张伟's household; `jiang` is an officer of that street, `wu` of the neighbouring 望岳街道.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import segno
from starlette.testclient import TestClient

from engine.clock import FixedClock
from engine.runtime import Runtime
from engine.settings import Settings
from plugins.builtin.demo_common import id_check_char
from renderers.app import create_app
from tests.databases import ADMIN_PASSWORD, FAST_ARGON2
from tests.identity import anonymous, authorize, client_as, create_org

APPS_CONFIG = Path(__file__).resolve().parents[2] / "apps_config"
UNITS = "/api/housing_stock/housing_unit"
CODE = "430104-0001-001-01-0501"
LESSEE_ID = "430104198806120112"
LESSEE_ID = LESSEE_ID[:17] + id_check_char(LESSEE_ID[:17])
PRIVATE_REMARK = "租户张伟 13812345678 欠费两月"
REGIONS = [  # code, name, level, parent code
    ("430100", "长沙市", "city", None),
    ("430104", "岳麓区", "district", "430100"),
    ("430104001", "橘子洲街道", "street", "430104"),
    ("430104002", "望岳街道", "street", "430104"),
]


@dataclass
class Stock:
    admin: TestClient
    jiang: TestClient  # street officer of 橘子洲街道, where the unit is
    wu: TestClient  # street officer of 望岳街道
    regions: dict[str, int]
    project: dict[str, Any]
    building: dict[str, Any]
    unit: dict[str, Any]

    def staff_url(self, suffix: str = "") -> str:
        return f"/api/plugins/house_code/{self.unit['id']}{suffix}"


@pytest.fixture
def stock(tmp_path: Path, database_url: str | None) -> Iterator[Stock]:
    settings = Settings(
        data_dir=tmp_path / "var",
        apps_config=APPS_CONFIG,
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        job_threads=False,
        **FAST_ARGON2,
    )
    clock = FixedClock(datetime(2026, 4, 27, 2, 0, tzinfo=UTC))  # 10:00 in Changsha
    with TestClient(create_app(runtime=Runtime.create(settings, clock))) as admin:
        authorize(admin)
        orgs: dict[str, int] = {}
        regions: dict[str, int] = {}
        for code, name, level, parent in REGIONS:
            parent_org = orgs.get(parent) if parent else None
            orgs[code] = create_org(admin, code, level, parent_org, name)["id"]
            body = {"name": name, "code": code, "level": level, "parent": regions.get(parent)}
            regions[code] = created(admin, "/api/housing_stock/region", body)["id"]
        project = created(
            admin,
            "/api/housing_stock/project",
            {
                "name": "洋湖公租房小区",
                "code": "XM4301040001",
                "housing_type": "public_rental",
                "district": regions["430104"],
                "street": regions["430104001"],
                "address": "长沙市岳麓区洋湖大道 88 号",
            },
        )
        building = created(
            admin,
            "/api/housing_stock/building",
            {
                "project": project["id"],
                "code": "430104-0001-001",
                "building_no": "1",
                "name": "1 栋",
                "floors_above_ground": 18,
            },
        )
        stock = Stock(
            admin=admin,
            jiang=client_as(admin, "jiang", "street_officer", org_id=orgs["430104001"]),
            wu=client_as(admin, "wu", "street_officer", org_id=orgs["430104002"]),
            regions=regions,
            project=project,
            building=building,
            unit={},
        )
        stock.unit = created(admin, UNITS, unit_body(stock))
        let_to_a_household(stock)
        yield stock


def created(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    record: dict[str, Any] = response.json()
    return record


def unit_body(stock: Stock, **changes: Any) -> dict[str, Any]:
    return {
        "code": CODE,
        "project": stock.project["id"],
        "building": stock.building["id"],
        "district": stock.regions["430104"],
        "street": stock.regions["430104001"],
        "stairwell": "01",
        "floor": 5,
        "room_no": "0501",
        "layout": "one_bedroom",
        "building_area": "55.00",
        "usable_area": "43.00",
        "housing_type": "public_rental",
        "rent_standard": "2.60",
        "status": "let",
        "address": "长沙市岳麓区洋湖大道 88 号 1 栋 0501",
        "remarks": PRIVATE_REMARK,
        **changes,
    }


def let_to_a_household(stock: Stock) -> None:
    """张伟's household and its lease of the unit: the personal data the page must not show."""
    household = created(
        stock.admin,
        "/api/public_rental/household",
        {
            "applicant_name": "张伟",
            "id_number": LESSEE_ID,
            "phone": "13812345678",
            "hukou_district": stock.regions["430104"],
            "hukou_street": stock.regions["430104001"],
            "household_size": 3,
            "marital_status": "married",
            "marital_status_since": "2014-10-01",
            "annual_income": "90000.00",
            "per_capita_assets": "45000.00",
            "housing_situation": "renting",
        },
    )
    created(
        stock.admin,
        "/api/public_rental/lease_contract",
        {
            "contract_no": "HT2023430104000001",
            "household": household["id"],
            "housing_unit": stock.unit["id"],
            "lessee_name": "张伟",
            "lessee_id_number": LESSEE_ID,
            "lessee_phone": "13812345678",
            "start_date": "2023-06-01",
            "end_date": "2026-05-31",
            "term_months": 36,
            "usable_area": "43.00",
            "rent_standard": "2.60",
            "monthly_rent": "111.80",
            "deposit": "223.60",
            "payment_cycle": "quarterly",
            "status": "active",
        },
    )


# Reading a QR code back into its modules, with no QR reader: the PNG's pixels, or the SVG's
# path of horizontal runs, sampled module by module; compared with segno's symbol of a URL.

Modules = set[tuple[int, int]]  # the dark modules, (row, column) from the symbol's corner


def symbols_of(url: str) -> list[Modules]:
    """segno's symbol of `url` at each error-correction level the server might have chosen."""
    symbols = []
    for level in "LMQH":
        matrix = segno.make_qr(url, error=level, boost_error=False).matrix
        symbols.append({(r, c) for r, row in enumerate(matrix) for c, v in enumerate(row) if v})
    return symbols


def svg_modules(svg: bytes) -> Modules:
    """The dark modules of segno's SVG: one path of `h` runs, each on a module row's middle."""
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    [path] = root.iter("{http://www.w3.org/2000/svg}path")
    x = y = 0.0
    dark: Modules = set()
    for command, numbers in re.findall(r"([MmHhVv])([-0-9. ]+)", path.attrib["d"]):
        values = [float(n) for n in numbers.split()]
        if command in "Mm":
            x, y = (values[0], values[1]) if command == "M" else (x + values[0], y + values[1])
        elif command in "Hh":
            end = values[0] if command == "H" else x + values[0]
            dark |= {(int(y), column) for column in range(int(x), int(end))}
            x = end
        else:
            raise AssertionError(f"unexpected path command {command}")
    return _from_corner(dark)


def png_modules(png: bytes) -> Modules:
    """The dark modules of a black-and-white PNG (1-bit greyscale, unfiltered or `Up` rows)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, data = 8, b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind, body = png[position + 4 : position + 8], png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (1, 0)
        elif kind == b"IDAT":
            data += body
        position += length + 12
    raw, stride = zlib.decompress(data), (width + 7) // 8
    rows, previous = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1 : start + 1 + stride]
        assert kind in (0, 2)
        if kind == 2:
            line = bytes((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        rows.append(line)
        previous = line
    pixels = {
        (y, x)
        for y in range(height)
        for x in range(width)
        if not rows[y][x // 8] >> (7 - x % 8) & 1
    }
    # the finder pattern's top row is 7 dark modules: it gives the scale of a module
    top = min(y for y, _ in pixels)
    first_row = sorted(x for y, x in pixels if y == top)
    run = next(i for i, x in enumerate(first_row + [-1]) if x != first_row[0] + i)
    scale = run // 7
    return _from_corner({(y // scale, x // scale) for y, x in pixels})


def _from_corner(dark: Modules) -> Modules:
    """Dark modules counted from the symbol's top-left corner, past the quiet zone."""
    top, left = min(r for r, _ in dark), min(c for _, c in dark)
    return {(r - top, c - left) for r, c in dark}


# The tests


def test_staff_get_a_qr_code_of_the_units_public_page(stock: Stock) -> None:
    links = stock.admin.get(stock.staff_url()).json()
    public_url = links["public_url"]
    assert re.fullmatch(rf"http://testserver/public/house/{CODE}-[a-z2-7]{{24}}", public_url)
    assert links["code"] == CODE

    svg = stock.admin.get(links["qr_svg"])
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg_modules(svg.content) in symbols_of(public_url)

    png = stock.admin.get(links["qr_png"])
    assert png.headers["content-type"] == "image/png"
    assert png_modules(png.content) in symbols_of(public_url)

    label = stock.admin.get(links["label"])
    assert label.status_code == 200
    assert "<svg" in label.text
    assert CODE in label.text and "长沙市岳麓区洋湖大道 88 号 1 栋 0501" in label.text


def test_anyone_who_scans_the_code_sees_the_units_status_and_nothing_personal(
    stock: Stock,
) -> None:
    public_url = stock.admin.get(stock.staff_url()).json()["public_url"]
    visitor = anonymous(stock.admin)
    page = visitor.get(public_url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    for shown in (
        CODE,
        "洋湖公租房小区",
        "1 栋",
        "岳麓区",
        "橘子洲街道",
        "一居室",
        "43.00",
        "2.60",
        "已出租",
        "Let",
        "公租房",
        "2026年4月27日",
        "2026-04-27",
    ):
        assert shown in text
    for personal in ("张伟", LESSEE_ID, "13812345678", PRIVATE_REMARK, "洋湖大道"):
        assert personal not in text
    assert "<script" not in text and "http://" not in text and "https://" not in text

    as_json = visitor.get(f"{public_url}.json").json()
    assert as_json == {
        "code": CODE,
        "project": "洋湖公租房小区",
        "building": "1 栋",
        "district": "岳麓区",
        "street": "橘子洲街道",
        "layout": {"value": "one_bedroom", "label": {"zh": "一居室", "en": "One bedroom"}},
        "usable_area": "43.00",
        "rent_standard": "2.60",
        "status": {"value": "let", "label": {"zh": "已出租", "en": "Let"}},
        "housing_type": {
            "value": "public_rental",
            "label": {"zh": "公租房", "en": "Public rental housing"},
        },
        "verified_by": {"zh": "安居住房保障平台", "en": "Anju housing platform"},
        "verified_on": "2026-04-27",
    }


def test_the_page_shows_the_status_the_unit_has_now(stock: Stock) -> None:
    public_url = stock.admin.get(stock.staff_url()).json()["public_url"]
    changed = stock.admin.patch(f"{UNITS}/{stock.unit['id']}", json={"status": "vacant"})
    assert changed.status_code == 200, changed.text
    page = anonymous(stock.admin).get(public_url)
    assert "空置" in page.text and "已出租" not in page.text


def test_a_token_not_made_by_the_platform_is_a_404_page(stock: Stock) -> None:
    public_url = stock.admin.get(stock.staff_url()).json()["public_url"]
    mac = public_url.rsplit("-", 1)[1]
    neighbour = created(
        stock.admin, UNITS, unit_body(stock, code="430104-0001-001-01-0502", room_no="0502")
    )
    visitor = anonymous(stock.admin)
    for token in (
        f"430104-0001-001-01-0502-{mac}",  # the neighbour's code with this unit's MAC
        f"{CODE}-{'a' * 24}",
        CODE,
        "430104-0001-001-01-0503-" + mac,  # no such unit
        "not-a-token",
    ):
        page = visitor.get(f"/public/house/{token}")
        assert page.status_code == 404, token
        if page.headers["content-type"].startswith("text/html"):
            assert "未找到该房源" in page.text
        as_json = visitor.get(f"/public/house/{token}.json")
        assert as_json.status_code == 404
    neighbour_url = stock.admin.get(f"/api/plugins/house_code/{neighbour['id']}").json()
    assert visitor.get(neighbour_url["public_url"]).status_code == 200


def test_only_a_caller_who_may_read_the_unit_gets_its_qr_code(stock: Stock) -> None:
    for suffix in ("", "/qr.svg", "/qr.png", "/label"):
        url = stock.staff_url(suffix)
        assert stock.jiang.get(url).status_code == 200, url
        refused = stock.wu.get(url)
        assert refused.status_code == 404, url
        assert refused.json()["error"]["code"] == "not_found"
        assert anonymous(stock.admin).get(url).status_code == 401
    assert stock.admin.get("/api/plugins/house_code/999999/qr.svg").status_code == 404


def test_a_mistyped_code_is_refused_with_what_it_disagrees_with(stock: Stock) -> None:
    typo = unit_body(stock, code="430104-0001-001-01-0510", room_no="0501")
    refused = stock.admin.post(UNITS, json=typo, headers={"Accept-Language": "en"})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"path": "code", "message": "the code's room 0510 is not the room number 0501"}
    ]
    moved = stock.admin.patch(f"{UNITS}/{stock.unit['id']}", json={"floor": 6})
    assert moved.status_code == 422
    [detail] = moved.json()["error"]["details"]
    assert detail["path"] == "code" and "楼层" in detail["message"]
    fixed = stock.admin.patch(
        f"{UNITS}/{stock.unit['id']}",
        json={"floor": 6, "room_no": "0601", "code": "430104-0001-001-01-0601"},
    )
    assert fixed.status_code == 200, fixed.text
