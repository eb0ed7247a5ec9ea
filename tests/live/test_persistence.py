"""State that outlives a process: real ``passbox serve`` processes on each store.

- the double spend of one single-use applicant token, submitted concurrently (several
  workers on SQLite and PostgreSQL), hands out one code;
- ``kill -9`` and a restart on SQLite keep everything a 2xx answered for;
- two replicas on one PostgreSQL behave as one sandbox, and a replica killed mid-delivery
  leaves its delivery to the other once its lease runs out.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_postgres_url, url_for
from tests.live.served import Served, receiver, serve, wait_until
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.live

DEMO_KEY = {"key": "passbox-demo-key"}
DEMO_CLIENT = ("passbox-demo-client", "passbox-demo-secret")
NURSE = {"first_name": "Nia", "last_name": "Okafor", "email": "nia.okafor@example.com", "dob": "1990-04-12",
         "community": "nur", "outcome": "positive"}  # fmt: skip
SINGLE_USE = {"PASSBOX_APPLICANT_TOKEN_SINGLE_USE": "1"}


@pytest.fixture
def servers() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        served.stop()


def seekpass_token(client: httpx.Client) -> str:
    response = client.post(
        "/api/partner/v1/oauth/token.json",
        data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT[0], "client_secret": DEMO_CLIENT[1]},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def applicant_token(client: httpx.Client, email: str) -> str:
    response = client.post("/api/v2/token", headers=DEMO_KEY, json={"email": email, "lock_email": True})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def codes_left(client: httpx.Client) -> int:
    page = client.get("/auth/demo-unique-codes")
    match = re.search(r"Unique codes left: (\d+)", page.text)
    assert match, page.text
    return int(match.group(1))


def code_of(html: str) -> str | None:
    match = re.search(r'id="code">([^<]+)<', html)
    return match.group(1) if match else None


@pytest.mark.parametrize(("backend", "workers"), [("memory", 1), ("sqlite", 2), ("postgresql", 2)])
def test_one_single_use_token_submitted_at_once_is_spent_once(
    backend: str,
    workers: int,
    tmp_path: Path,
    postgres_server: PostgresServer | str | None,
    servers: list[Served],
) -> None:
    store = url_for(backend, tmp_path, postgres_server)
    served = serve(store, "--workers", str(workers), env=SINGLE_USE)
    servers.append(served)
    with served.client() as client:
        token = applicant_token(client, NURSE["email"])
        assert codes_left(client) == 3
    barrier = threading.Barrier(8)
    results: list[httpx.Response] = []

    def submit() -> None:
        with served.client() as client:
            barrier.wait(timeout=30)
            results.append(client.post("/auth/demo-unique-codes", params={"token": token}, data=NURSE))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(response.status_code for response in results)
    assert statuses == [200] + [409] * 7, [response.text[:200] for response in results]
    [won] = [response for response in results if response.status_code == 200]
    assert code_of(won.text) == "NURSE-0001"
    assert all("already used" in response.text for response in results if response.status_code == 409)
    with served.client() as client:
        assert codes_left(client) == 2
        activity = client.get("/_sandbox/verifypass/activity").json()
        assert [row["data"] for row in activity] == ["NURSE-0001"]


def test_kill_9_and_restart_on_sqlite_lose_nothing(tmp_path: Path, servers: list[Served]) -> None:
    store = f"sqlite:///{tmp_path / 'passbox.db'}"
    env = {**SINGLE_USE, "PASSBOX_WEBHOOK_RETRY_SCHEDULE": "2,2,2", "PASSBOX_WEBHOOK_JITTER": "0"}
    with receiver(script=[500]) as hook:
        first = serve(store, env=env)
        servers.append(first)
        with first.client() as client:
            token = seekpass_token(client)
            auth = {"Authorization": f"Bearer {token}"}
            webhook = client.post("/api/partner/v2/webhooks", headers=auth, json={"name": "h", "url": hook.url})
            assert webhook.status_code == 201
            created = [
                client.post(
                    "/api/partner/v2/verify/requests/digital_identity.json",
                    headers=auth,
                    json={"request_id": request_id, "display_options": {"partner_name": "Acme"}},
                )
                for request_id in ("7cbc7e51-82f5-43ec-8d63-b7cdf1170425", "0d6f2b8e-3c1a-4a57-9f0e-2f2b8c9d1e77")
            ]
            assert [response.status_code for response in created] == [201, 201]
            done = client.post(
                "/_sandbox/seekpass/requests/passbox-demo-client/0d6f2b8e-3c1a-4a57-9f0e-2f2b8c9d1e77/complete"
            )
            assert done.status_code == 200
            [first_attempt] = hook.wait_for(1)  # answered 500: a retry is scheduled
            spent = applicant_token(client, NURSE["email"])
            used = client.post("/auth/demo-unique-codes", params={"token": spent}, data=NURSE)
            assert code_of(used.text) == "NURSE-0001"
            fresh = applicant_token(client, "fresh@example.com")
            fault = client.post(
                "/_sandbox/faults", json={"kind": "error", "operation": "getActivity", "status": 503, "remaining": 3}
            )
            assert fault.status_code == 201
            assert client.post("/_sandbox/clock", json={"action": "advance", "by": "1h"}).status_code == 200
            before = {
                "requests": client.get("/_sandbox/seekpass/requests").json(),
                "faults": client.get("/_sandbox/faults").json(),
                "webhooks": client.get("/api/partner/v2/webhooks", headers=auth).json(),
                "clock": client.get("/_sandbox/clock").json(),
            }
        first.kill()

        second = serve(store, env=env)
        servers.append(second)
        with second.client() as client:
            # Every record a 2xx answered for, the fault rules and the clock offset.
            assert client.get("/_sandbox/seekpass/requests").json() == before["requests"]
            assert client.get("/_sandbox/faults").json() == before["faults"]
            clock = client.get("/_sandbox/clock").json()
            assert clock["offset_seconds"] == before["clock"]["offset_seconds"] == 3600
            # Tokens issued before still work; the webhook and its secret are the same.
            assert client.get("/api/partner/v2/webhooks", headers=auth).json() == before["webhooks"]
            got = client.get("/api/partner/v2/verify/requests/7cbc7e51-82f5-43ec-8d63-b7cdf1170425", headers=auth)
            assert got.status_code == 200 and got.json()["status"] == "incomplete"
            assert client.get("/auth/demo-unique-codes", params={"token": fresh}).status_code == 200
            # Spent stays spent; no code and no id is handed out twice.
            again = client.post("/auth/demo-unique-codes", params={"token": spent}, data=NURSE)
            assert again.status_code == 409
            other = {**NURSE, "email": "fresh@example.com"}
            assert code_of(client.post("/auth/demo-unique-codes", params={"token": fresh}, data=other).text) == (
                "NURSE-0002"
            )
            newer = client.post("/api/partner/v2/webhooks", headers=auth, json={"name": "h2", "url": hook.url}).json()
            assert newer["id"] != webhook.json()["id"]
            assert newer["secret"] != webhook.json()["secret"]
            # The pending retry resumes on schedule, with the same event.
            retried = hook.wait_for(2)[1]
            assert retried.json()["event_id"] == first_attempt.json()["event_id"]
            assert client.get("/api/v2/reporting", headers=DEMO_KEY).status_code == 503  # the fault still fires


@pytest.fixture
def shared_postgres(postgres_server: PostgresServer | str | None) -> str:
    return new_postgres_url(postgres_server)


REPLICA_ENV = {"PASSBOX_LEASE_SECONDS": "3", "PASSBOX_POLL_SECONDS": "0.1", "PASSBOX_WEBHOOK_JITTER": "0"}


def test_two_replicas_on_one_postgresql_are_one_sandbox(shared_postgres: str, servers: list[Served]) -> None:
    a = serve(shared_postgres, env=REPLICA_ENV)
    b = serve(shared_postgres, env=REPLICA_ENV)
    servers.extend([a, b])
    with a.client() as on_a, b.client() as on_b:
        auth = {"Authorization": f"Bearer {seekpass_token(on_a)}"}  # issued by A, used on B
        made = on_a.post(
            "/api/partner/v2/verify/requests/digital_identity.json",
            headers=auth,
            json={"request_id": "5f0c6a9e-1d2b-4c3e-8f4a-6b7c8d9e0f1a", "display_options": {"partner_name": "Acme"}},
        )
        assert made.status_code == 201
        read = on_b.get("/api/partner/v2/verify/requests/5f0c6a9e-1d2b-4c3e-8f4a-6b7c8d9e0f1a.json", headers=auth)
        assert read.status_code == 200
        assert (read.json()["request_id"], read.json()["status"]) == (made.json()["request_id"], "incomplete")
        # An applicant token from B works on A's widget.
        assert (
            on_a.get("/auth/demo-widget", params={"token": applicant_token(on_b, "x@example.com")}).status_code == 200
        )

        # Time travel on A applies to B.
        assert on_a.post("/_sandbox/clock", json={"action": "advance", "by": "2h"}).status_code == 200
        assert on_b.get("/_sandbox/clock").json()["offset_seconds"] == 7200

        # A fault added on A fires on B, once.
        fault = {"kind": "error", "operation": "getActivity", "status": 502, "remaining": 1}
        assert on_a.post("/_sandbox/faults", json=fault).status_code == 201
        assert on_b.get("/api/v2/reporting", headers=DEMO_KEY).status_code == 502
        assert on_a.get("/api/v2/reporting", headers=DEMO_KEY).status_code == 200
        assert on_a.get("/_sandbox/faults").json() == []

        # The journal on either replica shows the traffic of both.
        def journal_paths(client: httpx.Client) -> list[str]:
            return [entry["path"] for entry in client.get("/_sandbox/requests").json()["entries"]]

        wait_until(
            lambda: (
                "/api/partner/v2/verify/requests/digital_identity.json" in journal_paths(on_b)
                and "/api/partner/v2/verify/requests/5f0c6a9e-1d2b-4c3e-8f4a-6b7c8d9e0f1a.json" in journal_paths(on_a)
            ),
            "each replica's journal to show the other's traffic",
        )

        # Reset on A resets B.
        assert on_a.post("/_sandbox/reset", json={}).status_code == 200
        auth = {"Authorization": f"Bearer {seekpass_token(on_b)}"}  # the old one expired with the 2 h jump
        gone = on_b.get("/api/partner/v2/verify/requests/5f0c6a9e-1d2b-4c3e-8f4a-6b7c8d9e0f1a.json", headers=auth)
        assert gone.status_code == 404
        assert on_b.get("/_sandbox/seekpass/requests").json() == on_a.get("/_sandbox/seekpass/requests").json()


def test_a_replica_killed_mid_delivery_leaves_it_to_the_other(shared_postgres: str, servers: list[Served]) -> None:
    with receiver(script=["hang"]) as hook:
        a = serve(shared_postgres, env=REPLICA_ENV)
        servers.append(a)
        with a.client() as on_a:
            auth = {"Authorization": f"Bearer {seekpass_token(on_a)}"}
            assert on_a.post("/api/partner/v2/webhooks", headers=auth, json={"url": hook.url}).status_code == 201
            on_a.post(
                "/api/partner/v2/verify/requests/digital_identity.json",
                headers=auth,
                json={"request_id": "sandbox:verified", "display_options": {"partner_name": "Acme"}},
            )
            [held] = hook.wait_for(1)  # A is delivering: the receiver holds the request open
        b = serve(shared_postgres, env=REPLICA_ENV)
        servers.append(b)
        a.kill()  # mid-delivery: its claim stays until the lease runs out
        redelivered = hook.wait_for(2, timeout=30)[1]
        assert redelivered.json()["event_id"] == held.json()["event_id"]  # at least once, the same event
        assert redelivered.headers["x-signature"]
        with b.client() as on_b:
            [delivery] = wait_until(
                lambda: [d for d in on_b.get("/_sandbox/deliveries").json() if d["status"] == "delivered"],
                "B to record the delivery",
            )
        assert [attempt["status_code"] for attempt in delivery["attempts"]] == [200]
