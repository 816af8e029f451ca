"""The baseline: a hand-written Starlette + SQLAlchemy Core API doing the generated API's
queries (page + capped count, and get by id) on the same database, for bench/api.py."""

from __future__ import annotations

import os
from decimal import Decimal

import orjson
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.database import create_database_engine
from engine.settings import Settings

engine = create_database_engine(Settings())
units = sa.Table("housing_stock__housing_unit", sa.MetaData(), autoload_with=engine)


def _json(content: object) -> Response:
    def default(value: object) -> object:
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError

    body = orjson.dumps(content, default=default, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, media_type="application/json")


async def list_units(request: Request) -> Response:
    district, status = int(request.query_params["district"]), request.query_params["status"]

    def run() -> dict:
        where = (units.c.district == district, units.c.status == status)
        with engine.connect() as conn:
            query = (
                sa.select(units).where(*where).order_by(units.c.monthly_rent, units.c.id).limit(51)
            )
            rows = [dict(r) for r in conn.execute(query).mappings()]
            capped = (
                sa.select(sa.literal(1)).select_from(units).where(*where).limit(10_001).subquery()
            )
            count = conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar()
        return {"items": rows[:50], "next_cursor": "x" if len(rows) > 50 else None, "count": count}

    return _json(await run_in_threadpool(run))


async def get_unit(request: Request) -> Response:
    unit_id = int(request.path_params["id"])

    def run() -> dict | None:
        with engine.connect() as conn:
            row = conn.execute(sa.select(units).where(units.c.id == unit_id)).mappings().first()
        return dict(row) if row else None

    row = await run_in_threadpool(run)
    return _json(row) if row else Response(status_code=404)


app = Starlette(routes=[Route("/units", list_units), Route("/units/{id}", get_unit)])
assert os.environ.get("ANJU_DATA_DIR") or os.environ.get("ANJU_DATABASE_URL"), (
    "run through bench/api.py"
)
