"""Reference client for SEEK Pass ("Verify with SEEK Pass"). Depends on httpx only."""

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
from passbox_clients.seekpass.auth import ClientCredentials
from passbox_clients.seekpass.client import AsyncSeekPassClient, SeekPassClient
from passbox_clients.seekpass.types import (
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
