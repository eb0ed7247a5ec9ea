"""Verify and read VerifyPass webhooks.

VerifyPass signs nothing: it sends your API key in ``X-VFYPS-Key``. Compare it with your key
in constant time, then read the records from the JSON body.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping

from passbox_clients.errors import WebhookVerificationError
from passbox_clients.verifypass.types import WebhookRecord

VENDOR = "verifypass"
HEADER = "X-VFYPS-Key"


def verify_webhook(headers: Mapping[str, str], api_key: str) -> None:
    """Raise WebhookVerificationError unless ``X-VFYPS-Key`` is ``api_key`` (constant time)."""
    given = next((value for key, value in headers.items() if key.lower() == HEADER.lower()), None)
    if given is None:
        raise WebhookVerificationError(f"missing {HEADER} header", vendor=VENDOR)
    if not api_key or not hmac.compare_digest(given.encode(), api_key.encode()):
        raise WebhookVerificationError(f"{HEADER} is not your API key", vendor=VENDOR)


def parse_webhook(body: bytes) -> list[WebhookRecord]:
    """The records of a webhook body ``{"data": [...]}``."""
    try:
        data = json.loads(body)
        rows = data["data"] if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ValueError("no 'data' list")
        return [WebhookRecord.from_dict(row) for row in rows if isinstance(row, dict)]
    except (ValueError, KeyError) as exc:
        raise WebhookVerificationError(f"the body is not a VerifyPass webhook: {exc}", vendor=VENDOR) from exc
