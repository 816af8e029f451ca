"""The MQTT broker of the device tests: CI's Mosquitto (`ANJU_TEST_MQTT_URL`), else one the
fixture starts from Debian's `mosquitto` on a free port; without either the MQTT tests are
skipped, unless `ANJU_REQUIRE_MQTT` says they must run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on port {port}")


@pytest.fixture(scope="session")
def mqtt_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("ANJU_TEST_MQTT_URL")
    if given:
        yield given
        return
    if MOSQUITTO is None:
        if os.environ.get("ANJU_REQUIRE_MQTT"):
            pytest.fail("ANJU_REQUIRE_MQTT is set but there is no broker: install mosquitto")
        pytest.skip("no MQTT broker: set ANJU_TEST_MQTT_URL or install mosquitto")
    port = _free_port()
    folder = tmp_path_factory.mktemp("mosquitto")
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        "max_queued_messages 200000\nmax_inflight_messages 1000\n"  # as docs/devices-telemetry.md
    )
    broker = subprocess.Popen(
        [MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(port)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        broker.terminate()
        broker.wait(timeout=10)
