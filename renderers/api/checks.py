"""Re-running a stored check decision: `POST /api/checks/rerun` with the decision as the
record or the timeline holds it answers whether the check, today, judges its inputs alike."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from engine.errors import NotFound, ValidationFailed, field_error
from engine.flows.checks import rerun
from engine.runtime import Runtime
from renderers.api.requests import read_json_object
from renderers.api.responses import JSON

REQUIRED = ("check", "today", "inputs", "passed")


async def rerun_decision(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    stored = await read_json_object(request)
    missing = [field_error(key, "is required") for key in REQUIRED if key not in stored]
    if missing:
        raise ValidationFailed("this is not a stored check decision", missing)
    check = runtime.extensions.checks.get(str(stored["check"]))
    if check is None:
        raise NotFound(f"the check {stored['check']!r} is not installed")
    try:
        result = rerun(check, stored)
    except (TypeError, ValueError, KeyError) as exc:
        detail = field_error("inputs", f"{type(exc).__name__}: {exc}")
        raise ValidationFailed("the stored inputs cannot be judged again", [detail]) from None
    return JSON(result.as_json())
