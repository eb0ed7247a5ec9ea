"""Reference client for SEEK Pass ("Verify with SEEK Pass"). Depends on httpx only."""

from clients._http import NO_RETRIES, RetryPolicy
from clients.errors import (
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
from clients.seekpass.auth import ClientCredentials
from clients.seekpass.client import AsyncSeekPassClient, SeekPassClient
from clients.seekpass.types import (
    AccessToken,
    Credential,
    VerificationRequest,
    VerificationRequestCreated,
    Webhook,
    WebhookEvent,
    WebhookWithSecret,
)

__all__ = [
    "NO_RETRIES",
    "APIError",
    "AccessToken",
    "AsyncSeekPassClient",
    "AuthenticationError",
    "ClientCredentials",
    "ClientError",
    "ConflictError",
    "Credential",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetryPolicy",
    "SeekPassClient",
    "ServerError",
    "TransportError",
    "ValidationError",
    "VerificationRequest",
    "VerificationRequestCreated",
    "Webhook",
    "WebhookEvent",
    "WebhookVerificationError",
    "WebhookWithSecret",
]
