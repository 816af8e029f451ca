"""Every hook a plugin may implement, declared once. `docs/plugins.md` documents each under
its exact signature; a test fails when one is missing there.

A plugin is a module (or object) with functions marked `@hookimpl` and named like the specs
below. Registration hooks (`anju_field_types` … `anju_job_modules`) are called once when an
app instance starts, and return lists; lifecycle hooks (`anju_before_save` …) are called on
every write of a record, inside its transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from engine.expressions import Function
    from engine.extensions import FieldType, FlowAction
    from engine.flows.checks import Check
    from engine.records.lifecycle import RecordEvent
    from engine.settings import Settings

PROJECT = "anju"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def anju_field_types(settings: Settings) -> list[FieldType]:
    """Field types for entity definitions (`type: id_number`): stored as text, normalised and
    checked by the plugin, masked and encrypted as the type says."""


@hookspec
def anju_functions(settings: Settings) -> list[Function]:
    """Functions for the expression language, each typed, with a Python implementation and,
    where it can run in the database, a SQL one."""


@hookspec
def anju_checks(settings: Settings) -> list[Check]:
    """Checks that flows run by name (`{check: eligibility}`): `gather` reads the inputs,
    `decide(inputs, params, today)` gives pass/fail, reasons, a signal level."""


@hookspec
def anju_flow_actions(settings: Settings) -> list[FlowAction]:
    """Actions that flows run by name (`{call: lottery.draw}`) inside a transition's
    transaction, through an `ActionContext`."""


@hookspec
def anju_routes(settings: Settings) -> list[Any]:
    """Extra HTTP routes (Starlette `Route`/`Mount`), mounted beside the platform's own; a
    path the platform already serves is refused."""


@hookspec
def anju_connectors(settings: Settings) -> dict[str, Any]:
    """Adapters to the outside by channel name (`sms`, `email`, `webhook`): objects with the
    `engine.notifications.Connector` interface (`channel`, `session()`, `send(message)`)."""


@hookspec
def anju_device_drivers(settings: Settings) -> dict[str, Any]:
    """Device drivers by name (a device type's `driver:`), objects with the
    `iot.drivers.DeviceDriver` interface: they turn a command into what the device reads and
    its reply and telemetry into the platform's terms. See docs/devices.md."""


@hookspec
def anju_services(settings: Settings) -> list[Any]:
    """Long-running services beside the web and job workers (the MQTT bridge): objects with
    `name`, `start(runtime)` and `stop()`, started with the job threads of `run.py serve` and
    by `run.py worker`, stopped when the process stops."""


@hookspec
def anju_job_modules(settings: Settings) -> list[str]:
    """Modules to import in every process that runs jobs, so their `@job_handler`s and
    `@periodic` jobs register."""


@hookspec
def anju_before_save(event: RecordEvent) -> None:
    """Before a record is inserted or updated: may change `event.values` (what will be
    written) or refuse the write by raising `ValidationFailed`."""


@hookspec
def anju_after_save(event: RecordEvent) -> None:
    """After a record is written, in the same transaction: `event.values` is the stored
    record. Raising rolls the write back."""


@hookspec
def anju_before_delete(event: RecordEvent) -> None:
    """Before a record is deleted: raising `Conflict` or `ValidationFailed` refuses it."""


@hookspec
def anju_after_delete(event: RecordEvent) -> None:
    """After a record is deleted, in the same transaction; `event.before` is what it was."""
