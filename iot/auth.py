"""Devices authenticating over HTTP: Basic credentials, the device code as user name and its
secret as password (see `iot.registry.issue_secret`).

Device endpoints take no person's token or session, and people's endpoints take no device:
a request to a device endpoint without Basic credentials is refused with 401 whatever else
it carries. A code the platform does not know is also kept as a refused payload of no
device, so operators see who is knocking.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from engine.database import write_transaction
from engine.errors import Unauthorized
from iot.registry import Device, authenticate, device_by_code
from iot.telemetry.store import insert_rejects

REALM = 'Basic realm="anju-devices"'


class DeviceUnauthorized(Unauthorized):
    """401 for a device: bad or missing Basic credentials."""


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The (code, secret) of the request's `Authorization: Basic …` header, if well formed."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    code, colon, secret = decoded.partition(":")
    if not colon or not code or not secret:
        return None
    return code, secret


def device_of(request: Request) -> Device:
    """The active device whose Basic credentials the request carries; else 401.

    It reads the database, so call it from a worker thread (a sync endpoint, or inside
    `run_in_threadpool`)."""
    credentials = basic_credentials(request)
    if credentials is None:
        raise DeviceUnauthorized(
            "devices authenticate with HTTP Basic: the device code and its secret"
        )
    runtime = request.app.state.runtime
    catalog = runtime.require_catalog()
    code, secret = credentials
    with runtime.engine.connect() as conn:
        device = authenticate(conn, catalog, code, secret)
        known = device is not None or device_by_code(conn, catalog, code) is not None
    if device is None:
        if not known:
            with write_transaction(runtime.engine) as conn:
                insert_rejects(
                    conn,
                    [(None, code[:64], "unknown device", None)],
                    "http",
                    runtime.clock.now(),
                )
        raise DeviceUnauthorized("unknown device, wrong secret, or the device is not active")
    return device
