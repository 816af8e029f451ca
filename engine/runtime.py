"""The runtime of one app instance: settings, database and the current catalog.

Nothing here is process-global: tests build several runtimes side by side. Every worker
reads the published version from the database, so a publish in one worker reaches all.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import sqlalchemy as sa

from engine.audit.retention import purge_expired
from engine.auth.bootstrap import ensure_admin
from engine.catalog import Catalog, CatalogOptions, compile_catalog
from engine.clock import Clock
from engine.database import create_database_engine
from engine.errors import Conflict
from engine.expressions.definitions import load_definitions
from engine.extensions import Extensions, load_extensions
from engine.flows.services import FlowServices
from engine.jobs import Jobs, create_jobs
from engine.protection import Protector
from engine.protection.fingerprint import check_key
from engine.publishing import (
    Contents,
    PublishResult,
    definitions_from_contents,
    invalid_definitions,
    publish,
)
from engine.settings import Settings
from engine.system_schema import upgrade_system_schema
from metamodel import store
from metamodel.errors import DefinitionsInvalid
from metamodel.loader import read_folder

IMPORT_MESSAGE = "Imported apps_config"


@dataclass
class Runtime:
    settings: Settings
    engine: sa.Engine
    options: CatalogOptions = field(default_factory=CatalogOptions)
    clock: Clock = field(default_factory=Clock)  # a FixedClock in tests moves timers and jobs
    jobs: Jobs = field(init=False)
    _catalog: Catalog | None = None
    _checked_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _services_started: bool = False

    def __post_init__(self) -> None:
        extensions = self.options.extensions or Extensions(functions=self.options.functions)
        self.options = replace(self.options, services=FlowServices(self), extensions=extensions)
        self.jobs = create_jobs(self)  # the back-end `ANJU_JOBS_BACKEND` names

    @property
    def extensions(self) -> Extensions:
        """What the plugins added (nothing when built without `Runtime.create`)."""
        assert self.options.extensions is not None, "set in __post_init__"
        return self.options.extensions

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        extensions = load_extensions(settings)
        options = CatalogOptions(
            functions=extensions.functions,
            extensions=extensions,
            timezone=settings.timezone,
            audit_hash=settings.audit_hash,
            protector=Protector.from_settings(settings),
        )
        return cls(settings, create_database_engine(settings), options, clock or Clock())

    def start(self) -> None:
        """Upgrade system tables, import `apps_config/` as version 1 on a new database, purge
        audit entries past their retention, and start the job threads (`ANJU_JOB_THREADS`)."""
        upgrade_system_schema(self.engine)
        if self.options.protector is not None:
            check_key(self.engine, self.options.protector.keys)
        if self.catalog() is None:
            try:
                self.publish_folder(author="system", message=IMPORT_MESSAGE)
            except Conflict:
                if self.catalog() is None:  # not another worker's import: a real conflict
                    raise
        ensure_admin(self.engine, self.settings)
        purge_expired(
            self.engine, self.settings.audit_retention_days, algorithm=self.options.audit_hash
        )
        if self.settings.job_threads:
            self.jobs.start()
            self.start_services()

    def start_services(self) -> None:
        """Start the plugins' long-running services (`anju_services`), once."""
        if self._services_started:
            return
        self._services_started = True
        for service in self.extensions.services:
            service.start(self)

    def catalog(self) -> Catalog | None:
        """The catalog of the newest published version, rebuilt when another worker publishes."""
        now = time.monotonic()
        current = self._catalog
        if current is not None and now - self._checked_at < self.settings.catalog_check_seconds:
            return current
        with self.engine.connect() as conn:
            latest = store.latest_version(conn)
        self._checked_at = now
        if latest is None or (current is not None and current.version == latest):
            return current
        with self._lock:
            if self._catalog is None or self._catalog.version != latest:
                self._catalog = self.load_catalog(latest)
            return self._catalog

    def require_catalog(self) -> Catalog:
        catalog = self.catalog()
        if catalog is None:
            raise RuntimeError("no definitions are published; run `run.py migrate` first")
        return catalog

    def load_catalog(self, version: int) -> Catalog:
        with self.engine.connect() as conn:
            contents = store.read_contents(conn, version)
        field_types = self.extensions.field_types
        definitions = definitions_from_contents(contents, self.options.functions, field_types)
        return compile_catalog(version, definitions, self.options)

    def publish_contents(
        self,
        contents: Contents,
        author: str,
        message: str,
        force: bool = False,
        clear_draft: bool = False,
    ) -> PublishResult:
        result = publish(
            self.engine,
            self.catalog(),
            contents,
            author,
            message,
            force,
            clear_draft,
            self.options,
        )
        with self._lock:
            self._catalog = result.plan.catalog
        return result

    def folder_contents(self) -> Contents:
        """The definitions in `apps_config/`, checked; errors name file, line and path."""
        try:
            folder = read_folder(self.settings.apps_config)
            field_types = self.extensions.field_types
            return load_definitions(folder, self.options.functions, field_types).contents
        except DefinitionsInvalid as exc:
            raise invalid_definitions(exc) from exc

    def publish_folder(self, author: str, message: str, force: bool = False) -> PublishResult:
        return self.publish_contents(self.folder_contents(), author, message, force)

    def dispose(self) -> None:
        if self._services_started:
            for service in reversed(self.extensions.services):
                service.stop()
        self.jobs.stop()
        self.engine.dispose()
