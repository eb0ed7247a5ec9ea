"""VerifyPass records: accounts, widgets and communities (from fixtures), activity, tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from passbox.core.clock import isoformat_z

VENDOR = "verifypass"

Mode = Literal["normal", "private"]
CachePeriod = Literal["none", "day", "week", "permanent"]
CACHE_PERIODS: dict[str, timedelta | None] = {
    "none": timedelta(0),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "permanent": None,  # "Once Ever"
}


def tenant_of(account_id: str) -> str:
    return f"{VENDOR}:{account_id}"


def account_id_of(tenant: str) -> str:
    return tenant.removeprefix(f"{VENDOR}:")


class Community(msgspec.Struct, frozen=True):
    key: str
    name: str
    group: str


class Action(msgspec.Struct, frozen=True):
    """The one post-verification action of a widget."""

    type: Literal["same_code", "unique_codes", "custom"]
    code: str | None = None
    codes: tuple[str, ...] = ()
    message: str | None = None


class Widget(msgspec.Struct, frozen=True):
    key: str
    account_id: str
    name: str
    mode: Mode
    communities: tuple[Community, ...]
    display_message: str
    action: Action
    cache_period: CachePeriod = "none"
    require_token: bool = False
    active: bool = True
    webhook_url: str | None = None

    def community(self, key: str) -> Community | None:
        return next((community for community in self.communities if community.key == key), None)


class Account(msgspec.Struct, frozen=True):
    id: str
    name: str
    api_key: str
    support_email: str
    webhook_url: str | None
    widgets: tuple[str, ...]
    # Applicant tokens of this account: seconds until they expire and whether a positive
    # verification spends them; None takes the sandbox-wide setting (never, reusable).
    token_ttl: int | None = None
    single_use_tokens: bool | None = None

    @property
    def tenant(self) -> str:
        return tenant_of(self.id)


class Applicant(msgspec.Struct, frozen=True):
    """What an applicant token carries (every field optional, as in the token API)."""

    account_id: str
    jti: str
    issued_at: int
    expires_at: int | None  # None: never (the documented default)
    first_name: str | None = None
    last_name: str | None = None
    dob: str | None = None
    email: str | None = None
    lock_email: bool = False
    uid: str | None = None


class Activity(msgspec.Struct, frozen=True):
    """One verification: positive ones are what reporting returns and webhooks announce."""

    id: str
    account_id: str
    widget_key: str
    community_key: str
    first_name: str
    last_name: str
    email: str
    dob: str
    outcome: Literal["positive", "negative"]
    created_at: datetime
    data: str | None = None
    uid: str | None = None
    token_jti: str | None = None

    def to_report(self) -> dict[str, Any]:
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "community_key": self.community_key,
            "widget_key": self.widget_key,
            "data": self.data,
            "created_at": isoformat_z(self.created_at, micro=True),
            "uid": self.uid,
        }
