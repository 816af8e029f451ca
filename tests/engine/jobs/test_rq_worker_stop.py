"""An idle RQ worker stops when asked even if RQ's stop exception is lost: a SIGTERM that
lands in a `__del__` has its `StopRequested` printed and dropped by Python."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from rq import Queue
from rq.exceptions import StopRequested

from engine.jobs.rq_backend import STOP_CHECK_SECONDS, StoppingWorker
from tests.jobs import NO_REDIS, TEST_REDIS_URL, forget_namespace

pytestmark = pytest.mark.skipif(not TEST_REDIS_URL, reason=NO_REDIS)


@pytest.fixture
def worker() -> Iterator[StoppingWorker]:
    assert TEST_REDIS_URL is not None
    namespace = f"t{uuid.uuid4().hex[:12]}"
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    queue = Queue(f"{namespace}.default", connection=connection)
    try:
        yield StoppingWorker([queue], name=f"{namespace}.w", connection=connection)
    finally:
        connection.close()
        forget_namespace(TEST_REDIS_URL, namespace)


def test_a_stop_request_is_remembered_when_its_exception_is_swallowed(
    worker: StoppingWorker,
) -> None:
    with contextlib.suppress(StopRequested):  # as when it lands in a __del__
        worker._shutdown()  # what RQ's SIGTERM handler calls

    started = time.monotonic()
    with pytest.raises(StopRequested):
        worker.dequeue_job_and_maintain_ttl(timeout=400)  # RQ's long wait for jobs

    assert time.monotonic() - started < 1  # it looked before waiting at all


def test_an_idle_worker_looks_for_a_stop_request_between_short_waits(
    worker: StoppingWorker,
) -> None:
    started = time.monotonic()
    waiting = threading.Timer(0.5, lambda: setattr(worker, "_stop_requested", True))
    waiting.start()
    try:
        with pytest.raises(StopRequested):
            worker.dequeue_job_and_maintain_ttl(timeout=400)
    finally:
        waiting.cancel()

    assert time.monotonic() - started < STOP_CHECK_SECONDS + 3
