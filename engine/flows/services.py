"""What a move needs from the running platform: where files go, how jobs are queued, and
what time it is — all read from the runtime, so a test's clock moves flows too."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True, eq=False)
class FlowServices:
    """Set on the catalog's options by the runtime. Without a runtime (a catalog compiled on
    its own) documents go to a temporary folder and job actions are refused."""

    runtime: Any = None  # engine.runtime.Runtime

    @classmethod
    def of(cls, entity: Any) -> FlowServices:
        return cls.of_catalog(entity.catalog)

    @classmethod
    def of_catalog(cls, catalog: Any) -> FlowServices:
        services = catalog.options.services if catalog is not None else None
        return services or cls()

    @property
    def files_dir(self) -> Path:
        if self.runtime is None:
            return Path(tempfile.gettempdir()) / "anju-files"
        return Path(self.runtime.settings.files_dir)

    def now(self) -> datetime:
        return self.runtime.clock.now() if self.runtime is not None else datetime.now(UTC)

    def enqueue(
        self, conn: sa.Connection, name: str, args: dict[str, Any], key: str | None
    ) -> None:
        """Queue a job in the move's transaction: it runs only if the move commits."""
        if self.runtime is None:
            raise RuntimeError("no job queue: flows run jobs inside a runtime")
        self.runtime.jobs.enqueue(name, args, key=key, conn=conn)
