"""Typed results of the VerifyPass API. Unknown extra fields are ignored (forward compatible)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from passbox_clients._parse import integer, optional_text, text


@dataclass(frozen=True)
class ActivityRecord:
    first_name: str
    last_name: str
    email: str
    community_key: str
    widget_key: str
    data: str | None
    created_at: str
    uid: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ActivityRecord:
        return cls(
            first_name=text(data, "first_name"),
            last_name=text(data, "last_name"),
            email=text(data, "email"),
            community_key=text(data, "community_key"),
            widget_key=text(data, "widget_key"),
            data=optional_text(data, "data"),
            created_at=text(data, "created_at"),
            uid=optional_text(data, "uid"),
        )


@dataclass(frozen=True)
class ActivityPage:
    count: int
    max_page: int
    page: int
    records: list[ActivityRecord]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], page: int) -> ActivityPage:
        rows = data.get("data")
        if not isinstance(rows, list):
            raise ValueError("'data' is missing or not a list")
        return cls(
            count=integer(data, "count"),
            max_page=integer(data, "maxPage"),
            page=page,
            records=[ActivityRecord.from_dict(row) for row in rows if isinstance(row, dict)],
        )


@dataclass(frozen=True)
class WebhookRecord:
    """One verification announced by the webhook (``data[0]`` of its body)."""

    first_name: str
    last_name: str
    email: str
    time: str
    group_short: str
    group: str
    widget_key: str
    discount_code: str | None = None
    uid: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WebhookRecord:
        return cls(
            first_name=text(data, "first_name"),
            last_name=text(data, "last_name"),
            email=text(data, "email"),
            time=text(data, "time"),
            group_short=text(data, "group_short"),
            group=text(data, "group"),
            widget_key=text(data, "widget_key"),
            discount_code=optional_text(data, "discount_code"),
            uid=optional_text(data, "uid"),
        )
