"""Placeholder: replaced by the part that owns it."""

from typing import Any

from engine.settings import Settings
from plugins.hookspecs import hookimpl


@hookimpl
def anju_device_drivers(settings: Settings) -> dict[str, Any]:
    return {}
