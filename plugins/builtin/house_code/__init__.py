"""One house, one code (一房一码): checked house codes, QR codes and a public verification page.

- `house_code(district, project_no, building_no, stairwell, floor, room)` for expressions,
  so a form can default a unit's code from its parts (`codes.py`);
- a housing unit whose code disagrees with its district, building, stairwell, floor or room
  number is refused (`checking.py`);
- every unit has a public page, `/public/house/{token}`, reached by the QR code on its label:
  the unit's status for anyone who scans it, and no personal data (`status.py`); the token
  is the code with an HMAC of it, so the pages cannot be found by walking the codes
  (`tokens.py`);
- staff fetch a unit's QR code (SVG, PNG) and a printable label (`routes.py`).
"""

from __future__ import annotations

from typing import Any

from engine.expressions import Function
from engine.records.lifecycle import RecordEvent
from engine.settings import Settings
from plugins.builtin.house_code.checking import check_house_code
from plugins.builtin.house_code.codes import HOUSE_CODE_FUNCTION
from plugins.builtin.house_code.routes import HouseCodeViews, build_templates
from plugins.hookspecs import hookimpl


@hookimpl
def anju_functions(settings: Settings) -> list[Function]:
    return [HOUSE_CODE_FUNCTION]


@hookimpl
def anju_routes(settings: Settings) -> list[Any]:
    return list(HouseCodeViews(build_templates()).routes())


@hookimpl
def anju_before_save(event: RecordEvent) -> None:
    check_house_code(event)
