"""Placeholder: replaced by the part that owns it."""

from typing import Any

ROUTES: list[Any] = []
