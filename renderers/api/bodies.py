"""Request bodies as pydantic models (extra fields forbidden): a body that does not fit is
the contract's 422, one detail per problem with its path (`roles[0].org_id`)."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from engine.errors import BadRequest, ValidationFailed, field_error
from renderers.api.requests import read_body

Model = TypeVar("Model", bound=BaseModel)


async def read_model(request: Request, model: type[Model]) -> Model:
    """The JSON body as `model` (an object, or a list for a `RootModel` of one)."""
    body = await read_body(request)
    try:
        data = orjson.loads(body or b"null")
    except orjson.JSONDecodeError as exc:
        raise BadRequest("malformed JSON", [field_error("", str(exc))]) from None
    return parse_model(model, data)


def parse_model(model: type[Model], data: Any) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            "the request body is not valid", [_detail(error) for error in exc.errors()]
        ) from None


def _detail(error: Any) -> dict[str, Any]:
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    if error["type"] == "extra_forbidden":
        return field_error(path, "unknown field")
    if error["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return field_error(path, "expected a JSON object")
    if error["type"] == "missing":
        return field_error(path, "is required")
    return field_error(path, error["msg"])
