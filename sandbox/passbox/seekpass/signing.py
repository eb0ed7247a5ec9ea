"""SEEK Pass webhook signatures, exactly as documented.

``X-Signature`` is the lowercase hex HMAC-SHA256 of ``"{X-Timestamp}.{raw body}"``, keyed with
the webhook secret *string as returned* (its 64 ASCII hex characters, not hex-decoded).
"""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"X-Timestamp": str(timestamp), "X-Signature": signature(secret, timestamp, body)}
