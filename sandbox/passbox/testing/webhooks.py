"""Collect the webhooks a sandbox delivers, in process, and wait for them without polling."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Delivery:
    """One webhook request the sandbox sent."""

    url: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_type(self) -> str:
        """``vwsp_request.verified`` and so on for SEEK Pass; ``verification`` for VerifyPass."""
        data = self.json()
        return str(data.get("type", "verification")) if isinstance(data, dict) else "?"


class WebhookCollector:
    """Receives every delivery of the sandboxes it is plugged into (as their webhook transport),
    whatever URL it was for, and answers ``status`` (200 by default)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()

    def handle(self, request: httpx.Request) -> httpx.Response:
        delivery = Delivery(str(request.url), {k.lower(): v for k, v in request.headers.items()}, request.content)
        with self._arrived:
            self.deliveries.append(delivery)
            self._arrived.notify_all()
        return httpx.Response(self.status)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def clear(self) -> None:
        with self._arrived:
            self.deliveries.clear()
        self.status = 200

    def wait_for(
        self, count: int = 1, *, event: str | None = None, url: str | None = None, timeout: float = 10.0
    ) -> list[Delivery]:
        """Block until ``count`` matching deliveries arrived (woken by each arrival, not polling);
        return them, or fail with what did arrive."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self._matching(event, url)) >= count, timeout)
            if not arrived:
                seen = [f"{d.event_type} -> {d.url}" for d in self.deliveries]
                raise AssertionError(f"waited {timeout:g} s for {count} webhook(s) ({event or 'any'}); got {seen}")
            return self._matching(event, url)

    def _matching(self, event: str | None, url: str | None) -> list[Delivery]:
        return [
            d for d in self.deliveries if (event is None or d.event_type == event) and (url is None or d.url == url)
        ]
