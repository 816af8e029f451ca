"""The administrators' outbox API, and phone numbers and e-mail addresses on users through
the user administration API."""

from __future__ import annotations

from starlette.testclient import TestClient

from connectors.testing import FakeGateway
from engine.database import write_transaction
from engine.notifications import Notification, queue_notifications
from engine.runtime import Runtime
from tests.identity import client_as, create_user


def queue(client: TestClient, *notifications: Notification) -> list[int]:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with write_transaction(runtime.engine) as conn:
        return queue_notifications(conn, runtime, list(notifications))


def deliver(client: TestClient) -> None:
    client.app.state.runtime.jobs.run_pending()  # type: ignore[attr-defined]


def test_users_get_a_phone_number_and_an_email_address(client: TestClient) -> None:
    user = create_user(client, "zhang", phone="13812345678", email="zhang@example.org")
    assert (user["phone"], user["email"]) == ("13812345678", "zhang@example.org")

    changed = client.patch(f"/api/auth/users/{user['id']}", json={"phone": None})
    assert changed.status_code == 200
    assert (changed.json()["phone"], changed.json()["email"]) == (None, "zhang@example.org")

    audit = client.get("/api/audit", params={"action": "user.update"}).json()["items"]
    assert audit[0]["detail"]["changes"] == {"phone": ["138****5678", None]}


def test_a_malformed_phone_number_is_refused(client: TestClient) -> None:
    user = create_user(client, "li")

    response = client.patch(f"/api/auth/users/{user['id']}", json={"phone": "call me"})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "phone"


def test_the_outbox_lists_rows_newest_first_with_masked_addresses(
    client: TestClient, gateway: FakeGateway
) -> None:
    create_user(client, "zhang", phone="13812345678")
    create_user(client, "wang")
    queue(
        client,
        Notification("sms", "zhang", "租约到期", "b", ("alert", 3)),
        Notification("sms", "wang", "租约到期", "b", ("alert", 3)),
        Notification("in_app", "zhang", "租约到期", "b", ("alert", 3)),
    )
    deliver(client)

    page = client.get("/api/notifications/outbox").json()
    assert [(i["channel"], i["recipient"], i["address"], i["status"]) for i in page["items"]] == [
        ("in_app", "zhang", "zhang", "sent"),
        ("sms", "wang", None, "skipped"),
        ("sms", "zhang", "138****5678", "sent"),
    ]
    assert "13812345678" not in str(page)
    assert page["items"][2]["provider_id"] == "fake-1"
    assert page["next_cursor"] is None

    skipped = client.get("/api/notifications/outbox", params={"status": "skipped"}).json()
    assert [i["error"] for i in skipped["items"]] == ["user 'wang' has no phone number"]
    first = client.get("/api/notifications/outbox", params={"channel": "sms", "limit": 1}).json()
    rest = client.get(
        "/api/notifications/outbox", params={"channel": "sms", "cursor": first["next_cursor"]}
    ).json()
    assert [i["recipient"] for i in first["items"] + rest["items"]] == ["wang", "zhang"]


def test_bad_filters_name_the_parameter(client: TestClient) -> None:
    for params, path in [({"status": "lost"}, "status"), ({"channel": "fax"}, "channel")]:
        response = client.get("/api/notifications/outbox", params=params)
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["path"] == path


def test_only_administrators_see_the_outbox(client: TestClient) -> None:
    clerk = client_as(client, "clerk", "manager")

    assert clerk.get("/api/notifications/outbox").status_code == 403
    assert clerk.post("/api/notifications/outbox/1/retry").status_code == 403


def test_a_dead_notification_is_retried(client: TestClient, gateway: FakeGateway) -> None:
    create_user(client, "zhang", phone="13812345678")
    gateway.script(400)
    [row_id] = queue(client, Notification("sms", "zhang", "s", "b"))
    deliver(client)
    assert client.get("/api/notifications/outbox").json()["items"][0]["status"] == "dead"

    response = client.post(f"/api/notifications/outbox/{row_id}/retry")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts"]) == ("queued", 0)
    deliver(client)

    [row] = client.get("/api/notifications/outbox").json()["items"]
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert gateway.count() == 2
    audit = client.get("/api/audit", params={"action": "notification.retry"}).json()["items"]
    assert audit[0]["record_id"] == str(row_id)


def test_only_failed_or_dead_notifications_are_retried(
    client: TestClient, gateway: FakeGateway
) -> None:
    create_user(client, "zhang", phone="13812345678")
    [row_id] = queue(client, Notification("sms", "zhang", "s", "b"))
    deliver(client)

    assert client.post(f"/api/notifications/outbox/{row_id}/retry").status_code == 409
    assert client.post("/api/notifications/outbox/999999/retry").status_code == 404
    assert client.post("/api/notifications/outbox/x/retry").status_code == 404
