"""SEEK Pass records: partners (from fixtures), verification requests, webhooks, credentials.

Records are immutable; the backend replaces a record with an updated copy.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import msgspec

from passbox.core.clock import isoformat_z

VENDOR = "seekpass"
SCOPES = (
    "write.education",
    "write.english_proficiency",
    "write.microcredential",
    "write.digital_identity",
    "read.digital_identity",
)
WRITE_SCOPE = "write.digital_identity"
READ_SCOPE = "read.digital_identity"

Status = Literal["incomplete", "verified", "canceled"]
FinishedVia = Literal["app", "magic", "control", "expiry"]
DocumentType = Literal["passport", "drivers_licence"]
DOCUMENT_TYPES: tuple[DocumentType, ...] = ("passport", "drivers_licence")
DOCUMENT_LABELS = {"passport": "Passport", "drivers_licence": "Driver's licence"}


def tenant_of(client_id: str) -> str:
    return f"{VENDOR}:{client_id}"


class Partner(msgspec.Struct, frozen=True):
    client_id: str
    client_secret: str
    name: str
    scopes: tuple[str, ...]

    @property
    def tenant(self) -> str:
        return tenant_of(self.client_id)


class Credential(msgspec.Struct, frozen=True):
    document_type: DocumentType
    full_name: str
    given_name: str
    family_name: str
    date_of_birth: date
    document_number: str
    issuing_state: str | None
    expiry_date: date
    issuing_country: str = "AUS"
    identity_document_validity: str = "government_database"
    identity_document_liveness: str = "automated"
    identity_document_person_match: str = "automated"

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_type": self.document_type,
            "full_name": self.full_name,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "document_number": self.document_number,
            "issuing_country": self.issuing_country,
            "issuing_state": self.issuing_state,
            "expiry_date": self.expiry_date.isoformat(),
            "identity_document_validity": self.identity_document_validity,
            "identity_document_liveness": self.identity_document_liveness,
            "identity_document_person_match": self.identity_document_person_match,
        }


class VerifyRequest(msgspec.Struct, frozen=True):
    client_id: str
    request_id: str
    # SEEK Pass's own id for this request: the `content` of the redirect URI. A reused
    # request_id after expiry gets a new one, hence a new redirect URI.
    content_id: str
    redirect_uri: str
    callback_url: str | None
    partner_name: str
    partner_logo_url: str | None
    request_source: tuple[str, ...]
    metadata: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    status: Status = "incomplete"
    finalized_at: datetime | None = None
    credential: Credential | None = None
    # The browser that opened the link first owns it (the vendor binds a request to its user).
    bound_to: str | None = None
    # How it was finished: "app" (the hosted page), "magic" (its request id), "control"
    # (the control API) or "expiry"; and the magic outcome its request id asked for.
    finished_via: str | None = None
    magic: str | None = None

    @property
    def tenant(self) -> str:
        return tenant_of(self.client_id)

    @property
    def finished(self) -> bool:
        return self.status != "incomplete"

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "status": self.status,
            "finalized_at": isoformat_z(self.finalized_at) if self.finalized_at else None,
            "credential": self.credential.to_dict() if self.credential else None,
        }


class Webhook(msgspec.Struct, frozen=True):
    id: str
    client_id: str
    url: str
    secret: str
    name: str | None = None
    description: str | None = None
    created_at: datetime | None = None

    def to_dict(self, *, with_secret: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "url": self.url,
        }
        if with_secret:
            body["secret"] = self.secret
        return body
