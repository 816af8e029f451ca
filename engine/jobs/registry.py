"""Job handlers by name: `@job_handler` and `@periodic` register them when their module is
imported, and each runtime uses the handlers of the modules its settings name.

A handler takes a `JobContext` and the job's arguments as keywords::

    @job_handler("send_reminder")
    def send_reminder(ctx: JobContext, *, contract_id: int) -> None:
        with ctx.complete() as conn:  # the write and "job done" commit together
            conn.execute(reminders.insert().values(contract_id=contract_id, sent_at=ctx.now()))

    @periodic("purge_expired_sessions", seconds=3600)
    def purge_expired_sessions(ctx: JobContext) -> None: ...

The registry is module-level, like a route table filled by decorators; which handlers a
runtime may enqueue and schedule is decided per runtime by `load_handlers(settings)`, so
tests that register extra handlers do not leak them into other runtimes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.settings import Settings

if TYPE_CHECKING:
    from engine.jobs.context import JobContext

HandlerFunction = Callable[..., None]  # (ctx: JobContext, **args) -> None

BUILTIN_JOB_MODULES: tuple[str, ...] = (
    "engine.flows.jobs",
    "engine.alerts.jobs",
    "engine.notifications.delivery",
)  # modules whose handlers every runtime loads


@dataclass(frozen=True)
class JobHandler:
    name: str
    function: HandlerFunction
    module: str
    every_seconds: float | str | None = None  # periodic: seconds, or the setting holding them

    def period(self, settings: Settings) -> float | None:
        """Seconds between runs of a periodic handler (None for others), read from the
        settings when the handler names one."""
        if isinstance(self.every_seconds, str):
            return float(getattr(settings, self.every_seconds))
        return self.every_seconds

    def __call__(self, ctx: JobContext, **args: Any) -> None:
        self.function(ctx, **args)


_handlers: dict[str, JobHandler] = {}


def job_handler(name: str) -> Callable[[HandlerFunction], HandlerFunction]:
    """Register `function` as the handler of jobs called `name`."""
    return _register(name, None)


def periodic(name: str, seconds: float | str) -> Callable[[HandlerFunction], HandlerFunction]:
    """Register a handler that the scheduler enqueues once every `seconds` — a number, or
    the name of a setting that holds it (`"iot_sweep_seconds"`) — however many schedulers
    run: each window's job has the key `name:<window number>`."""
    if isinstance(seconds, str):
        if seconds not in Settings.model_fields:
            raise ValueError(f"periodic job {name}: there is no setting {seconds!r}")
    elif seconds <= 0:
        raise ValueError(f"periodic job {name}: seconds must be positive, not {seconds}")
    return _register(name, seconds)


def _register(
    name: str, seconds: float | str | None
) -> Callable[[HandlerFunction], HandlerFunction]:
    def decorate(function: HandlerFunction) -> HandlerFunction:
        handler = JobHandler(name, function, function.__module__, seconds)
        known = _handlers.get(name)
        if known is not None and _origin(known) != _origin(handler):
            raise ValueError(
                f"job handler {name!r} is already registered by {known.module}."
                f"{known.function.__qualname__}"
            )
        _handlers[name] = handler
        return function

    return decorate


def _origin(handler: JobHandler) -> tuple[str, str, float | str | None]:
    """Re-importing a module registers the same handler again; that is not a clash."""
    return handler.module, handler.function.__qualname__, handler.every_seconds


def load_handlers(
    settings: Settings, plugin_modules: Sequence[str] = ()
) -> Mapping[str, JobHandler]:
    """Import the built-in job modules, `settings.job_modules` and the modules plugins name
    (`anju_job_modules`); their handlers by name."""
    modules = (*BUILTIN_JOB_MODULES, *settings.job_modules, *plugin_modules)
    for module in modules:
        importlib.import_module(module)
    return {name: h for name, h in _handlers.items() if h.module in modules}
