"""Timers fire through the job queue, on both back-ends: in-process threads, and `run.py
worker` processes on RQ with a real Redis."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from engine.flows.tables import history
from tests.definitions import write_folder
from tests.engine.flows.test_permit_flow import in_publicity, state_of
from tests.flows import permit_client, permit_folder
from tests.identity import client_as, create_org
from tests.jobs import Backend, job_settings, jobs_backend, running_workers, wait_for  # noqa: F401


def test_publicity_ends_through_the_job_queue(
    tmp_path: Path,
    database_url: str | None,
    jobs_backend: Backend,  # noqa: F811
) -> None:
    plugins = ["plugins.builtin", "tests.flows"]  # the permit flow's check
    settings = job_settings(tmp_path, database_url, jobs_backend, plugins=plugins)
    write_folder(settings.apps_config, permit_folder())
    with permit_client(settings) as (admin, runtime, clock):
        city = create_org(admin, "C01", "city")
        street = create_org(admin, "S01", "street", parent_id=city["id"])
        world = {
            "clerk": client_as(admin, "clerk1", "clerk", org_id=street["id"]),
            "boss": client_as(admin, "boss1", "manager", org_id=city["id"]),
            "chief": client_as(admin, "chief1", "manager", org_id=city["id"]),
        }
        permit = in_publicity(world)
        clock.advance(days=10)  # a worker process on RQ reads the real clock: later still

        runtime.jobs.enqueue("flows.sweep_timers", key="test-sweep")
        with running_workers(runtime):
            wait_for(lambda: state_of(world["clerk"], permit["id"]) == "granted", timeout=30)

        with runtime.engine.connect() as conn:
            moves = conn.execute(
                sa.select(sa.func.count()).where(history.c.transition == "publicity_ends")
            ).scalar()
        assert moves == 1
