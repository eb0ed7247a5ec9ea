"""Typed results of the SEEK Pass API. Unknown extra fields are ignored (forward compatible)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from passbox_clients._parse import integer, optional_text, text

Status = Literal["incomplete", "verified", "canceled"]
EventType = Literal["vwsp_request.verified", "vwsp_request.canceled", "vwsp_request.incomplete"]


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    token_type: str
    expires_in: int
    scope: str
    created_at: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccessToken:
        return cls(
            access_token=text(data, "access_token"),
            token_type=text(data, "token_type"),
            expires_in=integer(data, "expires_in"),
            scope=optional_text(data, "scope") or "",
            created_at=integer(data, "created_at"),
        )


@dataclass(frozen=True)
class VerificationRequestCreated:
    request_id: str
    redirect_uri: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerificationRequestCreated:
        return cls(request_id=text(data, "request_id"), redirect_uri=text(data, "redirect_uri"))


@dataclass(frozen=True)
class Credential:
    document_type: str
    full_name: str
    date_of_birth: str | None
    given_name: str | None = None
    family_name: str | None = None
    document_number: str | None = None
    issuing_country: str | None = None
    issuing_state: str | None = None
    expiry_date: str | None = None
    identity_document_validity: str | None = None
    identity_document_liveness: str | None = None
    identity_document_person_match: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Credential:
        optional = (
            "given_name",
            "family_name",
            "document_number",
            "issuing_country",
            "issuing_state",
            "expiry_date",
            "identity_document_validity",
            "identity_document_liveness",
            "identity_document_person_match",
        )
        return cls(
            document_type=text(data, "document_type"),
            full_name=text(data, "full_name"),
            date_of_birth=optional_text(data, "date_of_birth"),
            **{name: optional_text(data, name) for name in optional},
        )


@dataclass(frozen=True)
class VerificationRequest:
    request_id: str
    status: Status
    finalized_at: str | None
    credential: Credential | None

    @property
    def finished(self) -> bool:
        return self.status != "incomplete"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerificationRequest:
        status = text(data, "status")
        if status not in ("incomplete", "verified", "canceled"):
            raise ValueError(f"unknown status {status!r}")
        credential = data.get("credential")
        return cls(
            request_id=text(data, "request_id"),
            status=cast(Status, status),
            finalized_at=optional_text(data, "finalized_at"),
            credential=Credential.from_dict(credential) if isinstance(credential, dict) else None,
        )


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    name: str | None
    description: str | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Webhook:
        return cls(
            id=text(data, "id"),
            url=text(data, "url"),
            name=optional_text(data, "name"),
            description=optional_text(data, "description"),
        )


@dataclass(frozen=True)
class WebhookWithSecret(Webhook):
    """A webhook as returned on creation and rotation: with its signing secret."""

    secret: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WebhookWithSecret:
        base = Webhook.from_dict(data)
        return cls(id=base.id, url=base.url, name=base.name, description=base.description, secret=text(data, "secret"))


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    request_id: str
    type: str
    created_at: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WebhookEvent:
        return cls(
            event_id=text(data, "event_id"),
            request_id=text(data, "request_id"),
            type=text(data, "type"),
            created_at=text(data, "created_at"),
        )
