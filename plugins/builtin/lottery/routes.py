"""The lottery's public page and its verifier.

`GET /public/lottery/{round_id}`, open to anyone once the round is published: what was
committed before the draw (seed hash, frozen participants — ids and priority groups only —
and their digest, the priority order, the mode and the number of units), and after the draw
the revealed seed and the result, so anyone can re-run it (`draw.py` says how).

`POST /api/plugins/lottery/verify`, for a logged-in user: re-runs a draw.

    POST /api/plugins/lottery/verify
    {"seed": "9f2c…", "seed_hash": "41d0…", "participants": [{"id": 12, "groups": []}, …],
     "result": {"algorithm": "anju-lottery/1", "participant_digest": "…", …}}
    → {"verified": true, "checks": [{"name": "seed_hash", "passed": true, "message": ""}, …],
       "changes": {"added": [], "removed": [], "regrouped": []}, "first_difference": null, …}

`participant_digest` may be given beside them; by default the result's is checked.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.errors import NotFound, ValidationFailed, field_error
from engine.records.sealing import unseal
from engine.runtime import Runtime
from plugins.builtin.lottery.draw import ALGORITHM, DrawResult, Participant, verify
from renderers.api.bodies import read_model
from renderers.api.responses import JSON

APP, ENTITY = "public_rental", "lottery_round"
UNPUBLISHED = ("draft",)


class Verification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: str
    seed_hash: str
    participants: list[Participant]
    result: DrawResult
    participant_digest: str | None = None


async def public_round(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    entity = runtime.require_catalog().entity(APP, ENTITY)
    try:
        round_id = int(request.path_params["round_id"])
    except ValueError:
        raise NotFound("no such lottery round") from None
    if entity is None:
        raise NotFound("no such lottery round")
    table = entity.table
    with runtime.engine.connect() as conn:
        row = conn.execute(table.select().where(table.c.id == round_id)).mappings().first()
    if row is None or row.get("state") in UNPUBLISHED or not row.get("seed_hash"):
        raise NotFound("no such lottery round, or it is not published yet")
    return JSON(public_view(unseal(entity, dict(row))))


def public_view(lottery: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see of a published round: nothing personal, nothing secret."""
    groups = lottery.get("priority_groups") or []
    return {
        "id": lottery["id"],
        "round_no": lottery.get("round_no"),
        "title": lottery.get("title"),
        "state": lottery.get("state"),
        "algorithm": ALGORITHM,
        "mode": lottery.get("mode"),
        "units": lottery.get("unit_count"),
        "groups_order": [group["name"] for group in groups],
        "priority_groups": groups,  # each group's condition, as published
        "published_at": lottery.get("published_at"),
        "seed_hash": lottery.get("seed_hash"),
        "participant_digest": lottery.get("participant_digest"),
        "participants": lottery.get("participants") or [],
        "drawn_at": lottery.get("drawn_at"),
        "seed": lottery.get("seed"),
        "result": lottery.get("result"),
        "verify": "POST /api/plugins/lottery/verify",
    }


async def verify_route(request: Request) -> Response:
    body = await read_model(request, Verification)
    digest = body.participant_digest or body.result.participant_digest
    try:
        report = verify(body.seed, body.seed_hash, body.participants, digest, body.result)
    except ValueError as exc:
        raise ValidationFailed(
            "the draw cannot be re-run", [field_error("participants", str(exc))]
        ) from None
    return JSON(report)


def routes() -> list[Route]:
    return [
        Route("/public/lottery/{round_id}", public_round, methods=["GET"]),
        Route("/api/plugins/lottery/verify", verify_route, methods=["POST"]),
    ]
