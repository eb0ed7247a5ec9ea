"""Verify SEEK Pass webhooks: the HMAC over the exact bytes, the timestamp, duplicates.

``X-Signature`` is the lowercase hex HMAC-SHA256 of ``"{X-Timestamp}.{raw body}"`` keyed with
the webhook secret string as the API returned it (not hex-decoded). Verify the raw bytes
you received, before any JSON parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from passbox_clients.errors import WebhookVerificationError
from passbox_clients.seekpass.types import WebhookEvent

TOLERANCE_SECONDS = 900
VENDOR = "seekpass"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def sign(body: bytes, secret: str, timestamp: int | str) -> str:
    """The X-Signature SEEK Pass sends for ``body`` at ``timestamp``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> WebhookEvent:
    """Check a delivery and return its event; raise WebhookVerificationError saying why not."""
    signature = _header(headers, "X-Signature")
    timestamp = _header(headers, "X-Timestamp")
    if not signature:
        raise WebhookVerificationError("missing X-Signature header", vendor=VENDOR)
    if not timestamp:
        raise WebhookVerificationError("missing X-Timestamp header", vendor=VENDOR)
    if not timestamp.isascii() or not timestamp.isdigit():
        raise WebhookVerificationError("X-Timestamp is not a Unix time in seconds", vendor=VENDOR)
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise WebhookVerificationError(
            f"X-Timestamp is more than {tolerance} seconds away from now (replayed or delayed)", vendor=VENDOR
        )
    expected = sign(body, secret, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookVerificationError("X-Signature does not match the body and the secret", vendor=VENDOR)
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return WebhookEvent.from_dict(data)
    except ValueError as exc:
        raise WebhookVerificationError(f"the body is not a SEEK Pass event: {exc}", vendor=VENDOR) from exc


class Deduplicator:
    """Remembers event ids for ``window`` seconds, so a retried or replayed event is handled once.

    ``first_time(event_id)`` is True the first time an id is seen within the window. Keep the
    window at least as long as the verification tolerance. At most ``max_size`` ids are kept.
    """

    def __init__(
        self, window: float = TOLERANCE_SECONDS, max_size: int = 100_000, clock: Callable[[], float] = time.time
    ) -> None:
        self._window = window
        self._max_size = max_size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        now = self._clock()
        while self._seen and next(iter(self._seen.values())) <= now - self._window:
            self._seen.popitem(last=False)
        if event_id in self._seen:
            return False
        self._seen[event_id] = now
        while len(self._seen) > self._max_size:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)
