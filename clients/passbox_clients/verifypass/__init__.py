"""Reference client for VerifyPass. Depends on httpx only."""

from passbox_clients._http import NO_RETRIES, RetryPolicy
from passbox_clients.errors import (
    APIError,
    AuthenticationError,
    ClientError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
    WebhookVerificationError,
)
from passbox_clients.verifypass.client import AsyncVerifyPassClient, VerifyPassClient
from passbox_clients.verifypass.types import ActivityPage, ActivityRecord, WebhookRecord
from passbox_clients.verifypass.webhooks import parse_webhook, verify_webhook

__all__ = [
    "NO_RETRIES",
    "APIError",
    "ActivityPage",
    "ActivityRecord",
    "AsyncVerifyPassClient",
    "AuthenticationError",
    "ClientError",
    "ConflictError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "ValidationError",
    "VerifyPassClient",
    "WebhookRecord",
    "WebhookVerificationError",
    "parse_webhook",
    "verify_webhook",
]
