"""One Settings object per app, built from CLI flags or the environment, never at import time."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from passbox.core.clock import Clock
from passbox.core.resources import default_fixtures_dir

if TYPE_CHECKING:
    import httpx

ENV_PREFIX = "PASSBOX_"


def _parse_schedule(text: str) -> tuple[float, ...]:
    values = tuple(float(part) for part in text.replace(" ", "").split(",") if part)
    if any(value < 0 for value in values):
        raise ValueError("retry delays must not be negative")
    return values


@dataclass(frozen=True)
class Settings:
    # Reproducibility: None picks a seed from system entropy (printed at startup so a run replays).
    # A store that already holds a seed keeps it (its data was made with it).
    seed: int | None = None
    # Where state lives: memory://, sqlite:///PATH or postgresql://... (PASSBOX_STORE).
    store_url: str = "memory://"
    # The server secret that keys and secrets derive from; None: random on first start, kept in
    # the store. Give one (PASSBOX_SECRET_KEY) for reproducible secrets across fresh stores.
    secret_key: str | None = field(default=None, repr=False)
    # Retention: finished requests, activity and deliveries are retired this long after they
    # finish (app-clock seconds) or when a kind holds more than max_records of them.
    retention_seconds: int = 7 * 24 * 3600
    max_records: int = 10_000
    # Scheduled work: how long a worker's claim on a due timer lasts (wall seconds), and how
    # often a worker on a shared store looks for work other processes added.
    lease_seconds: float = 60.0
    poll_seconds: float = 0.5
    fixtures_dir: Path = field(default_factory=default_fixtures_dir)
    # Base URL that pages and redirect URIs use; None means "the URL the request came in on".
    public_url: str | None = None
    # SEEK Pass
    token_ttl: int = 7200
    request_ttl: int = 48 * 3600
    webhook_secret_on_read: bool = False
    max_webhooks: int = 50
    incomplete_event: bool = False
    # VerifyPass: "Applicant tokens do not expire" (documented), and nothing documents single
    # use; both can be turned on for every account here, or per account in the fixtures.
    applicant_token_ttl: int | None = None
    applicant_token_single_use: bool = False
    # Webhook delivery (both vendors)
    webhook_retry_schedule: tuple[float, ...] = (1.0, 10.0, 60.0, 300.0)
    webhook_jitter: float = 0.1
    webhook_timeout: float = 10.0
    time_compression: float = 1.0
    # Requests
    max_body_bytes: int = 64 * 1024
    # Control plane: a bearer token for /_sandbox/ (None: open), the journal's size, and
    # fault rules to start with (a YAML file: {faults: [...], webhook_faults: [...]}).
    admin_token: str | None = field(default=None, repr=False)
    journal_size: int = 1000
    faults_file: Path | None = None
    # Injected collaborators (tests, embedding): a clock and the transport webhooks go out on.
    clock: Clock | None = field(default=None, compare=False)
    webhook_transport: httpx.AsyncBaseTransport | None = field(default=None, compare=False, repr=False)
    # Told about every unexpected exception (a sandbox bug) while serving or in background work;
    # the pytest plugin uses it to fail the test that caused one.
    on_error: Callable[[BaseException], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.token_ttl <= 0 or self.request_ttl <= 0 or (self.applicant_token_ttl or 1) <= 0:
            raise ValueError("token_ttl, request_ttl and applicant_token_ttl must be positive")
        if self.time_compression <= 0:
            raise ValueError("time_compression must be positive")
        if not 0 <= self.webhook_jitter < 1:
            raise ValueError("webhook_jitter must be in [0, 1)")
        if self.journal_size < 0:
            raise ValueError("journal_size must be 0 (no journal) or more")
        if self.admin_token is not None and len(self.admin_token) < 8:
            raise ValueError("the admin token must be at least 8 characters")
        if self.webhook_timeout <= 0 or self.max_body_bytes <= 0 or self.max_webhooks <= 0:
            raise ValueError("webhook_timeout, max_body_bytes and max_webhooks must be positive")
        if self.retention_seconds <= 0 or self.max_records <= 0:
            raise ValueError("retention_seconds and max_records must be positive")
        if self.lease_seconds <= 0 or self.poll_seconds <= 0:
            raise ValueError("lease_seconds and poll_seconds must be positive")
        if self.secret_key is not None and len(self.secret_key) < 16:
            raise ValueError("the secret key must be at least 16 characters")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``PASSBOX_*`` variables; explicit overrides (CLI flags) win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        converters: dict[str, Any] = {
            "seed": int,
            "store_url": str,
            "secret_key": str,
            "retention_seconds": int,
            "max_records": int,
            "lease_seconds": float,
            "poll_seconds": float,
            "fixtures_dir": Path,
            "public_url": str,
            "token_ttl": int,
            "request_ttl": int,
            "webhook_secret_on_read": _flag,
            "max_webhooks": int,
            "applicant_token_ttl": _seconds_or_never,
            "applicant_token_single_use": _flag,
            "incomplete_event": _flag,
            "webhook_retry_schedule": _parse_schedule,
            "webhook_jitter": float,
            "webhook_timeout": float,
            "time_compression": float,
            "max_body_bytes": int,
            "admin_token": str,
            "journal_size": int,
            "faults_file": Path,
        }
        for name, convert in converters.items():
            raw = env.get(env_name(name))
            if raw is not None and raw != "":
                try:
                    values[name] = convert(raw)
                except ValueError as exc:
                    raise ValueError(f"{env_name(name)}: {exc}") from exc
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


def env_name(setting: str) -> str:
    """The environment variable of a setting (``store_url`` is ``PASSBOX_STORE``)."""
    return ENV_PREFIX + ("STORE" if setting == "store_url" else setting.upper())


def _seconds_or_never(text: str) -> int | None:
    return None if text.strip().lower() == "never" else int(text)


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected a boolean, got {text!r}")
