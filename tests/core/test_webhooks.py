"""The outbox: attempts, retries on the app clock, the attempt log, nothing lost."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from passbox.core.clock import Clock
from passbox.core.rand import Rand
from passbox.core.scheduler import Scheduler
from passbox.core.store import MemoryStore
from passbox.core.webhooks import Delivery, Outbox, Prepared, RetryPolicy
from tests.conftest import Receiver, Wall

BODY = b'{"event_id":"e1","type":"demo"}'


def make_outbox(
    clock: Clock, receiver: Receiver, policy: RetryPolicy | None = None, seed: int = 7
) -> tuple[Outbox, Scheduler, MemoryStore]:
    store = MemoryStore()
    scheduler = Scheduler(clock, store)
    outbox = Outbox(
        store=store,
        scheduler=scheduler,
        clock=clock,
        rng=Rand(seed, store, b"a test server secret").stream("jitter"),
        policy=policy or RetryPolicy(schedule=(1, 10, 60), jitter=0.1),
        transport=receiver.transport,
    )
    outbox.register("demo", lambda delivery, ts: Prepared(url=delivery.url, headers={"X-Timestamp": str(ts)}))
    return outbox, scheduler, store


def enqueue(outbox: Outbox, delivery_id: str = "d1", vendor: str = "demo") -> Delivery:
    return outbox.enqueue(
        vendor=vendor,
        tenant="demo:t1",
        event_type="demo.happened",
        event_id="e1",
        target="hook-1",
        url="http://receiver.test/hook",
        body=BODY,
        delivery_id=delivery_id,
    )


async def test_enqueue_sends_nothing_until_the_worker_runs(clock: Clock, receiver: Receiver) -> None:
    outbox, scheduler, _ = make_outbox(clock, receiver)
    delivery = enqueue(outbox)
    assert delivery.status == "pending"
    assert receiver.requests == []
    await scheduler.drain()
    assert len(receiver.requests) == 1
    sent = receiver.requests[0]
    assert sent.content == BODY
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-timestamp"] == str(int(clock.wall()))
    done = outbox.get("d1")
    assert done is not None
    assert done.status == "delivered"
    assert [(a.number, a.status_code, a.error) for a in done.attempts] == [(1, 200, None)]
    assert done.attempts[0].request_headers["X-Timestamp"] == str(int(clock.wall()))


async def test_failures_are_retried_on_schedule_with_the_same_body(
    clock: Clock, receiver: Receiver, wall: Wall
) -> None:
    receiver.responses = [500, 503]
    outbox, scheduler, _ = make_outbox(clock, receiver)
    enqueue(outbox)
    await scheduler.drain()
    first = outbox.get("d1")
    assert first is not None and first.status == "pending" and len(first.attempts) == 1
    assert first.attempts[0].error == "receiver answered 500"
    assert first.attempts[0].response_body == "status 500"
    assert first.next_attempt_at is not None
    # 1 s +-10% jitter: nothing before 0.9 s, the retry by 1.1 s.
    clock.advance(0.89)
    await scheduler.drain()
    assert len(receiver.requests) == 1
    clock.advance(0.21)
    await scheduler.drain()
    assert len(receiver.requests) == 2
    clock.advance(11)
    wall.advance(11)
    await scheduler.drain()
    assert len(receiver.requests) == 3
    assert {request.content for request in receiver.requests} == {BODY}
    timestamps = [int(request.headers["x-timestamp"]) for request in receiver.requests]
    assert timestamps == sorted(timestamps) and timestamps[0] < timestamps[-1]
    final = outbox.get("d1")
    assert final is not None and final.status == "delivered"
    assert [a.status_code for a in final.attempts] == [500, 503, 200]


async def test_out_of_attempts_is_failed_and_kept(clock: Clock, receiver: Receiver) -> None:
    receiver.default_status = 502
    outbox, scheduler, _ = make_outbox(clock, receiver)
    enqueue(outbox)
    for _ in range(6):
        await scheduler.drain()
        clock.advance(timedelta(minutes=10))
    delivery = outbox.get("d1")
    assert delivery is not None
    assert delivery.status == "failed"
    assert delivery.note == "out of attempts"
    assert len(delivery.attempts) == 4 == delivery.max_attempts
    assert scheduler.pending() == 0


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(httpx.ReadTimeout("slow"), "timed out after 10 s", id="timeout"),
        pytest.param(httpx.ConnectError("connection refused"), "ConnectError: connection refused", id="refused"),
    ],
)
async def test_transport_errors_are_recorded_and_retried(
    clock: Clock, receiver: Receiver, error: Exception, expected: str
) -> None:
    receiver.responses = [error]
    outbox, scheduler, _ = make_outbox(clock, receiver)
    enqueue(outbox)
    await scheduler.drain()
    delivery = outbox.get("d1")
    assert delivery is not None
    assert delivery.attempts[0].status_code is None
    assert delivery.attempts[0].error == expected
    clock.advance(2)
    await scheduler.drain()
    delivery = outbox.get("d1")
    assert delivery is not None and delivery.status == "delivered"


async def test_a_vanished_destination_abandons_the_delivery(clock: Clock, receiver: Receiver) -> None:
    outbox, scheduler, _ = make_outbox(clock, receiver)
    outbox.register("gone", lambda delivery, ts: None)
    enqueue(outbox, vendor="gone")
    await scheduler.drain()
    delivery = outbox.get("d1")
    assert delivery is not None
    assert delivery.status == "abandoned"
    assert receiver.requests == []


async def test_time_compression_shrinks_the_schedule(clock: Clock, receiver: Receiver) -> None:
    receiver.responses = [500]
    policy = RetryPolicy(schedule=(3600,), jitter=0, compression=3600)
    outbox, scheduler, _ = make_outbox(clock, receiver, policy)
    enqueue(outbox)
    await scheduler.drain()
    delivery = outbox.get("d1")
    assert delivery is not None and delivery.next_attempt_at == clock.now() + timedelta(seconds=1)
    clock.advance(1)
    await scheduler.drain()
    assert len(receiver.requests) == 2


async def test_jitter_is_seeded(clock: Clock) -> None:
    def schedule(seed: int) -> list[object]:
        receiver = Receiver(default_status=500)
        outbox, _, _ = make_outbox(Clock.frozen("2026-01-01T00:00:00Z"), receiver, seed=seed)
        return [outbox.policy.delay(1, outbox._rng) for _ in range(3)]

    assert schedule(1) == schedule(1)
    assert schedule(1) != schedule(2)


async def test_redeliver_queues_a_finished_delivery_again(clock: Clock, receiver: Receiver) -> None:
    outbox, scheduler, _ = make_outbox(clock, receiver)
    enqueue(outbox)
    await scheduler.drain()
    again = outbox.redeliver("d1")
    assert again is not None and again.status == "pending"
    await scheduler.drain()
    delivery = outbox.get("d1")
    assert delivery is not None
    assert delivery.status == "delivered"
    assert [a.number for a in delivery.attempts] == [1, 2]
    assert outbox.redeliver("nope") is None


async def test_to_dict_is_json_ready(clock: Clock, receiver: Receiver) -> None:
    outbox, scheduler, _ = make_outbox(clock, receiver)
    enqueue(outbox)
    await scheduler.drain()
    delivery = outbox.get("d1")
    assert delivery is not None
    data = delivery.to_dict()
    assert data["body"] == BODY.decode()
    assert data["attempts"][0]["status_code"] == 200
    assert data["status"] == "delivered"
    assert outbox.list("demo:t1") == [delivery]
    assert outbox.list() == [delivery]
