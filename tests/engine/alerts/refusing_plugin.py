"""A plugin whose after_save refuses units noted "refuse": the write, and whatever the
on-change alert check wrote in its transaction, roll back."""

from engine.errors import Conflict
from plugins.hookspecs import hookimpl

PLUGIN_NAME = "refusing_units"


@hookimpl
def anju_after_save(event):  # type: ignore[no-untyped-def]
    if event.path == "estate.unit" and event.values.get("notes") == "refuse":
        raise Conflict("this unit is refused")
