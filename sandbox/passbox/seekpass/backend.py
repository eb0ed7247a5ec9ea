"""SEEK Pass behaviour, with no HTTP: tokens, verification requests, the hosted flow, webhooks.

Routes parse requests and render responses; everything else happens here, so the control
plane and tests can drive it directly. Every write validates first and runs as one unit of
work (records, events, timers and id draws commit together), so a refused call changes
nothing and concurrent calls cannot both pass a check. Reads never write: an unfinished
request's 48-hour expiry is a timer, run once by the scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import msgspec

from passbox.core.clock import MICROSECOND, isoformat_z
from passbox.core.errors import Conflict, FieldError, NotFound, SandboxError, ValidationFailed
from passbox.core.responses import compact_json
from passbox.core.runtime import Core
from passbox.core.store import Kind, Timer
from passbox.core.validation import SchemaValidators
from passbox.core.webhooks import Delivery, Prepared
from passbox.seekpass import oauth, scenarios, signing
from passbox.seekpass.errors import InsufficientScope, InvalidToken
from passbox.seekpass.models import (
    VENDOR,
    DocumentType,
    FinishedVia,
    Partner,
    VerifyRequest,
    Webhook,
    tenant_of,
)
from passbox.seekpass.people import credential_of, make_credential
from passbox.settings import Settings

REQUESTS = Kind("seekpass.requests", VerifyRequest)
# Session key -> request id, for the links that cannot find their request alone (see _session_key).
SESSIONS = Kind("seekpass.sessions", str)
WEBHOOKS = Kind("seekpass.webhooks", Webhook)
EXPIRE_JOB = "seekpass.expire"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
APP_PATH = "/partner/verify/digital_identity"

EventType = Literal["vwsp_request.verified", "vwsp_request.canceled", "vwsp_request.incomplete"]


class SessionNotFound(NotFound):
    """The hosted page was opened with an unknown clientId/content pair."""


class SessionFinished(Conflict):
    """The request was already verified or canceled (or expired)."""

    def __init__(self, request: VerifyRequest) -> None:
        super().__init__(f"This verification request is already {request.status}")
        self.request = request


class SessionOwnedByOther(SandboxError):
    """Another browser opened this link first; the vendor binds a request to its first user."""

    status = 403
    code = "forbidden"


class SessionFinishedElsewhere(Conflict):
    """Finished without the browser (magic request id, control API): the app sends the user back."""

    def __init__(self, request: VerifyRequest) -> None:
        super().__init__(f"This verification request is already {request.status}")
        self.request = request


class SessionLeftIncomplete(Conflict):
    """A sandbox:incomplete request: the user never finishes it."""

    def __init__(self, request: VerifyRequest) -> None:
        super().__init__(
            "This sandbox request (sandbox:incomplete) stays incomplete until it expires; it cannot be finished here"
        )
        self.request = request


class UnknownPersona(ValidationFailed):
    def __init__(self, persona: str) -> None:
        super().__init__(f"No persona {persona!r}", details=[FieldError("persona", "is not a known persona")])


def with_query_param(url: str, name: str, value: str) -> str:
    """``url`` with ``name=value`` set in its query, keeping the rest of the query and fragment."""
    parts = urlsplit(url)
    query = [(key, val) for key, val in parse_qsl(parts.query, keep_blank_values=True) if key != name]
    query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


class SeekPassBackend:
    def __init__(
        self,
        core: Core,
        settings: Settings,
        partners: Mapping[str, Partner],
        validators: SchemaValidators,
    ) -> None:
        self._core = core
        self._settings = settings
        self._validators = validators
        self.partners = dict(partners)
        self.personas = core.personas
        self._store = core.store
        self.core = core
        self.settings = settings
        self.users = core.rand.stream("seekpass.users")  # browser ids of the hosted app
        self._ids = core.rand.stream("seekpass.ids")
        self._secrets = core.rand.secret_stream("seekpass.secrets")
        self.tokens = oauth.AccessTokens(
            key=core.rand.key_bytes("seekpass.jwt", 64),
            clock=core.clock,
            rng=core.rand.stream("seekpass.jti"),
            ttl=settings.token_ttl,
        )
        self.request_ttl = timedelta(seconds=settings.request_ttl)
        core.outbox.register(VENDOR, self._prepare_delivery)
        core.scheduler.handle(EXPIRE_JOB, self._on_expire)

    # -- OAuth -------------------------------------------------------------------------------

    def issue_token(self, request: oauth.TokenRequest) -> tuple[Partner, dict[str, Any]]:
        oauth.check_grant_type(request.grant_type)
        credentials = request.credentials
        partner = oauth.authenticate(self.partners, credentials.client_id, credentials.secret, credentials.via_basic)
        scopes = oauth.grant_scopes(partner, request.scope)
        return partner, self.tokens.issue(partner, scopes)

    def authorize(self, token: str, scope: str | None = None) -> Partner:
        """The partner a bearer token belongs to; 401 for any bad token, 403 for a missing scope."""
        claims = self.tokens.verify(token)
        partner = self.partners.get(claims.client_id)
        if partner is None:
            raise InvalidToken("The client of this access token no longer exists")
        if scope is not None and scope not in claims.scopes:
            raise InsufficientScope(scope)
        return partner

    # -- verification requests ---------------------------------------------------------------

    def create_request(self, partner: Partner, payload: Any, base_url: str) -> tuple[VerifyRequest, bool]:
        """Create a request, or return the live one with the same request_id (created=False)."""
        self._validators.require("VerificationRequestCreate", payload)
        with self._store.transaction():
            return self._create_request(partner, payload, base_url)

    def _create_request(self, partner: Partner, payload: Any, base_url: str) -> tuple[VerifyRequest, bool]:
        now = self._core.clock.now()
        content_at: int | None = None  # the stream position the content id carries
        request_id = payload.get("request_id")
        generated = not request_id
        existing = None
        if generated:  # both ids in one draw; the insert below checks the id is free
            id_at, content_at = self._ids.positions(2)
            request_id = self._ids.uuid4_at(id_at)
        else:
            existing = self._load(partner.tenant, request_id)
        if existing is not None and now < existing.created_at + self.request_ttl:
            return existing, False
        if existing is not None and existing.status == "incomplete":
            # Its expiry is due but has not run yet: run it first, so its canceled event is sent.
            existing, _ = self._finalize(existing, "canceled", via="expiry", at=existing.expires_at)

        display = payload["display_options"]
        metadata = payload.get("metadata") or {}
        if content_at is None:
            (content_at,) = self._ids.positions(1)
        content_id = self._ids.numbered_uuid4(content_at)
        # As urlencode(..., quote_via=quote) writes it; a uuid needs no quoting.
        fragment = f"clientId={quote(partner.client_id, safe='')}&content={content_id}"
        request = VerifyRequest(
            client_id=partner.client_id,
            request_id=request_id,
            content_id=content_id,
            redirect_uri=f"{base_url}{APP_PATH}#{fragment}",
            callback_url=payload.get("callback_url"),
            partner_name=display["partner_name"],
            partner_logo_url=display.get("partner_logo_url"),
            request_source=tuple(item["name"] for item in payload.get("request_source") or ()),
            metadata={key: value for key, value in metadata.items() if value is not None},
            created_at=now,
            expires_at=now + self.request_ttl,
        )
        magic = scenarios.parse(request_id, self._core.personas)
        if magic is not None:
            request = msgspec.structs.replace(request, magic=magic.outcome)
        store = self._store
        if existing is not None:
            if (old_key := self._session_key(existing.request_id, existing.content_id)) is not None:
                store.delete(SESSIONS, partner.tenant, old_key)
            self._core.scheduler.cancel(partner.tenant, self._expiry_key(existing))
        if not generated:
            store.put(REQUESTS, partner.tenant, request_id, request)
        elif not store.insert(REQUESTS, partner.tenant, request_id, request):
            # A partner sent this id before it was drawn (ids follow the seed, which is public):
            # answer as if the request had named it.
            return self._create_request(partner, {**payload, "request_id": request_id}, base_url)
        # Drawn together, the request id is the draw before the content id: no row (see _session_key).
        if not generated and (key := self._session_key(request_id, content_id, content_at)) is not None:
            store.put(SESSIONS, partner.tenant, key, request_id)
        self._core.scheduler.call_at(
            request.expires_at, EXPIRE_JOB, partner.tenant, self._expiry_key(request), request_id
        )
        if magic is not None and magic.outcome != "incomplete":
            request, _ = self._finalize(
                request, magic.outcome, via="magic", document_type=magic.document_type, persona=magic.persona
            )
        return request, True

    def get_request(self, partner: Partner, request_id: str) -> VerifyRequest:
        request = self._load(partner.tenant, request_id)
        if request is None:
            raise NotFound(f"No verification request {request_id!r} for this client")
        return request

    def list_requests(
        self, client_id: str, *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[VerifyRequest]:
        return self._store.values(REQUESTS, tenant_of(client_id), newest_first=newest_first, limit=limit, offset=offset)

    def requests_page(self, client_id: str | None, *, limit: int, offset: int = 0) -> list[VerifyRequest]:
        """One partner's requests (or every partner's), oldest first."""
        if client_id is not None:
            return self.list_requests(client_id, limit=limit, offset=offset)
        return [request for _, request in self._store.scan(REQUESTS, limit=limit, offset=offset)]

    def recent_requests(self, *, limit: int, offset: int = 0) -> list[VerifyRequest]:
        """Every partner's requests, newest first."""
        return [request for _, request in self._store.scan(REQUESTS, newest_first=True, limit=limit, offset=offset)]

    def count_requests(self, client_id: str) -> int:
        return self._store.count(REQUESTS, tenant_of(client_id))

    def _load(self, tenant: str, request_id: str) -> VerifyRequest | None:
        return self._store.get(REQUESTS, tenant, request_id)

    @staticmethod
    def _expiry_key(request: VerifyRequest) -> str:
        # The expiry instant first: keys of new timers then sort after the others, so a SQL
        # store appends them to its (tenant, key) index instead of writing a random leaf. As
        # whole microseconds since 1970, 18 digits (the clock stops at the year 9000): the same
        # order as the ISO text it replaced, at a fifth of the cost (isoformat goes through C's
        # printf, 4% of a create). A timer stored with an earlier format is not cancelled by
        # this key; it still runs, finds its request finished or replaced (its content id is
        # the key's last part) and does nothing.
        micros = str((request.expires_at - EPOCH) // MICROSECOND).zfill(18)
        return f"expire|{micros}|{request.content_id}"

    def _on_expire(self, timer: Timer) -> None:
        """The 48 hours of an unfinished request ran out: canceled, with the canceled event."""
        with self._store.transaction():
            request = self._load(timer.tenant, timer.payload)
            if (
                request is not None
                and request.status == "incomplete"
                and timer.key.rsplit("|", 1)[-1] == request.content_id  # this request's, in any key format so far
                and self._core.clock.now() >= request.expires_at
            ):
                self._finalize(request, "canceled", via="expiry", at=request.expires_at)

    def _finalize(
        self,
        request: VerifyRequest,
        status: Literal["verified", "canceled"],
        *,
        via: FinishedVia,
        at: datetime | None = None,
        document_type: DocumentType | None = None,
        persona: str | None = None,
    ) -> tuple[VerifyRequest, list[Delivery]]:
        """Finish a request, store it and queue its event; returns it with the deliveries queued."""
        credential = None
        if status == "verified":
            assert document_type is not None
            if persona is not None:
                credential = credential_of(self._core.personas[persona], document_type)
            else:
                today = self._core.clock.now().date()
                credential = make_credential(
                    self._core.fake, self._core.rand, today, request.client_id, request.request_id, document_type
                )
        updated = msgspec.structs.replace(
            request,
            status=status,
            finalized_at=at or self._core.clock.now(),
            credential=credential,
            finished_via=via,
        )
        retire_at = self._core.clock.timestamp() + self._settings.retention_seconds
        with self._store.transaction():
            self._store.put(REQUESTS, request.tenant, request.request_id, updated, retire_at=retire_at)
            if (key := self._session_key(request.request_id, request.content_id)) is not None:
                self._store.put(SESSIONS, request.tenant, key, request.request_id, retire_at=retire_at)
            self._core.scheduler.cancel(request.tenant, self._expiry_key(request))
            deliveries = self._emit(
                updated, "vwsp_request.verified" if status == "verified" else "vwsp_request.canceled"
            )
        return updated, deliveries

    # -- the hosted SEEK Pass app ------------------------------------------------------------

    def session(self, client_id: str, content_id: str) -> VerifyRequest:
        """The request behind a redirect URI's ``clientId`` and ``content``."""
        tenant = tenant_of(client_id)
        content_at = self._ids.number_of(content_id)
        if content_at is not None:  # drawn with its request id, if the request is the one before it
            request = self._load(tenant, self._ids.uuid4_at(content_at - 1))
            if request is not None and request.content_id == content_id:
                return request
        request_id = self._store.get(SESSIONS, tenant, self._row_key(content_id, content_at))
        request = self._load(tenant, request_id) if request_id is not None else None
        if request is None or request.content_id != content_id:
            raise SessionNotFound("This SEEK Pass link is not valid")
        return request

    def _session_key(self, request_id: str, content_id: str, content_at: int | None = None) -> str | None:
        """The key of a request's session row, or None when its link finds it without one.

        A content id is numbered: it carries the stream position it was drawn at. When SEEK Pass
        drew the request id too, that is the draw just before it, so the hosted page finds the
        request from the link alone; a create then writes one record, not two. A request id the
        partner chose needs a row, keyed by the position (so SQL stores append to their index
        instead of writing a leaf at a random place). Content ids stored by an earlier passbox
        are not numbered and keep the rows they were written with.
        """
        if content_at is None:
            content_at = self._ids.number_of(content_id)
        if content_at is not None and self._ids.uuid4_at(content_at - 1) == request_id:
            return None
        return self._row_key(content_id, content_at)

    @staticmethod
    def _row_key(content_id: str, content_at: int | None) -> str:
        return content_id if content_at is None else f"n{content_at:016x}"

    def open_session(self, client_id: str, content_id: str, user: str) -> VerifyRequest:
        """The user opened the link: bind the request to them (first opener wins)."""
        with self._store.transaction():
            return self._open_session(client_id, content_id, user)

    def _open_session(self, client_id: str, content_id: str, user: str) -> VerifyRequest:
        request = self.session(client_id, content_id)
        if request.finished and request.finished_via in ("magic", "control"):
            raise SessionFinishedElsewhere(request)
        if request.bound_to is not None and request.bound_to != user:
            raise SessionOwnedByOther("This verification link belongs to another SEEK Pass user")
        if request.finished:
            raise SessionFinished(request)
        if request.magic == "incomplete":
            raise SessionLeftIncomplete(request)
        if request.bound_to is None:
            request = msgspec.structs.replace(request, bound_to=user)
            self._store.put(REQUESTS, request.tenant, request.request_id, request)
            if self._settings.incomplete_event:
                self._emit(request, "vwsp_request.incomplete")
        return request

    def finish_session(
        self,
        client_id: str,
        content_id: str,
        user: str,
        decision: Literal["verify", "cancel", "leave"],
        document_type: DocumentType | None = None,
        persona: str | None = None,
    ) -> VerifyRequest:
        """The user verified (with the credential they chose, or as a persona), canceled, or
        left without finishing (a sandbox control: the request stays incomplete)."""
        with self._store.transaction():
            return self._finish_session(client_id, content_id, user, decision, document_type, persona)

    def _finish_session(
        self,
        client_id: str,
        content_id: str,
        user: str,
        decision: Literal["verify", "cancel", "leave"],
        document_type: DocumentType | None,
        persona: str | None,
    ) -> VerifyRequest:
        request = self._open_session(client_id, content_id, user)
        if persona is not None and persona not in self._core.personas:
            raise UnknownPersona(persona)
        if decision == "leave":
            return request
        if decision == "verify":
            if document_type is None:
                raise ValidationFailed(
                    "Choose a credential to verify",
                    details=[FieldError("document_type", "choose passport or drivers_licence")],
                )
            return self._finalize(request, "verified", via="app", document_type=document_type, persona=persona)[0]
        return self._finalize(request, "canceled", via="app")[0]

    # -- the control plane -------------------------------------------------------------------

    def _unfinished(self, client_id: str, request_id: str) -> VerifyRequest:
        if client_id not in self.partners:
            raise NotFound(f"No SEEK Pass client {client_id!r}")
        request = self._load(tenant_of(client_id), request_id)
        if request is None:
            raise NotFound(f"No verification request {request_id!r} for client {client_id!r}")
        if request.finished:
            raise SessionFinished(request)
        return request

    def control_complete(
        self, client_id: str, request_id: str, document_type: DocumentType = "passport", persona: str | None = None
    ) -> tuple[VerifyRequest, list[Delivery]]:
        """Verify a request as if its user had (same record, webhook and redirect)."""
        if persona is not None and persona not in self._core.personas:
            raise NotFound(f"No persona {persona!r}")
        with self._store.transaction():
            request = self._unfinished(client_id, request_id)
            return self._finalize(request, "verified", via="control", document_type=document_type, persona=persona)

    def control_cancel(self, client_id: str, request_id: str) -> tuple[VerifyRequest, list[Delivery]]:
        with self._store.transaction():
            return self._finalize(self._unfinished(client_id, request_id), "canceled", via="control")

    def control_expire(self, client_id: str, request_id: str) -> tuple[VerifyRequest, list[Delivery]]:
        """Expire a request now, as 48 hours would have (canceled, with the canceled event)."""
        with self._store.transaction():
            return self._finalize(self._unfinished(client_id, request_id), "canceled", via="expiry")

    def callback_location(self, request: VerifyRequest) -> str | None:
        if request.callback_url is None:
            return None
        return with_query_param(request.callback_url, "request_id", request.request_id)

    # -- webhooks ----------------------------------------------------------------------------

    def create_webhook(self, partner: Partner, payload: Any) -> Webhook:
        self._validators.require("WebhookCreate", payload)
        with self._store.transaction():
            return self._create_webhook(partner, payload)

    def _create_webhook(self, partner: Partner, payload: Any) -> Webhook:
        limit = self._settings.max_webhooks
        if self._store.count(WEBHOOKS, partner.tenant) >= limit:
            raise Conflict(
                f"A client can register at most {limit} webhooks; delete one first",
                code="limit_reached",
            )
        webhook = Webhook(
            id=self._ids.uuid4(),
            client_id=partner.client_id,
            url=payload["url"],
            secret=self._secrets.hex(32),
            name=payload.get("name"),
            description=payload.get("description"),
            created_at=self._core.clock.now(),
        )
        self._store.put(WEBHOOKS, partner.tenant, webhook.id, webhook)
        return webhook

    def list_webhooks(self, partner: Partner) -> list[Webhook]:
        return self._store.values(WEBHOOKS, partner.tenant)

    def get_webhook(self, partner: Partner, webhook_id: str) -> Webhook:
        webhook = self._store.get(WEBHOOKS, partner.tenant, webhook_id)
        if webhook is None:
            raise NotFound(f"No webhook {webhook_id!r} for this client")
        return webhook

    def update_webhook(self, partner: Partner, webhook_id: str | None, payload: Any) -> Webhook:
        """Change the fields given. On ``PUT /webhooks/{id}`` the path id wins over a body id
        (as in Rails); on ``PUT /webhooks`` the body must carry the id."""
        schema = "WebhookUpdate" if webhook_id is not None else "WebhookUpdateWithId"
        self._validators.require(schema, payload)
        with self._store.transaction():
            webhook = self.get_webhook(partner, webhook_id or payload["id"])
            changes = {key: payload[key] for key in ("name", "description", "url") if key in payload}
            updated = msgspec.structs.replace(webhook, **changes)
            self._store.put(WEBHOOKS, partner.tenant, updated.id, updated)
        return updated

    def rotate_webhook_secret(self, partner: Partner, webhook_id: str) -> Webhook:
        with self._store.transaction():
            webhook = self.get_webhook(partner, webhook_id)
            rotated = msgspec.structs.replace(webhook, secret=self._secrets.hex(32))
            self._store.put(WEBHOOKS, partner.tenant, rotated.id, rotated)
        return rotated

    def delete_webhook(self, partner: Partner, webhook_id: str) -> None:
        if not self._store.delete(WEBHOOKS, partner.tenant, webhook_id):
            raise NotFound(f"No webhook {webhook_id!r} for this client")

    # -- events --------------------------------------------------------------------------------

    def _emit(self, request: VerifyRequest, event_type: EventType) -> list[Delivery]:
        """Queue one event for every webhook of the partner (same event id for each)."""
        webhooks = self._store.values(WEBHOOKS, request.tenant)
        if not webhooks:
            return []
        event_id = self._ids.uuid4()
        body = compact_json(
            {
                "event_id": event_id,
                "request_id": request.request_id,
                "type": event_type,
                "created_at": isoformat_z(self._core.clock.now(), micro=True),
            }
        )
        return [
            self._core.outbox.enqueue(
                vendor=VENDOR,
                tenant=request.tenant,
                event_type=event_type,
                event_id=event_id,
                target=webhook.id,
                url=webhook.url,
                body=body,
                delivery_id=self._ids.uuid4(),
                meta={"request_id": request.request_id},
            )
            for webhook in webhooks
        ]

    def _prepare_delivery(self, delivery: Delivery, timestamp: int) -> Prepared | None:
        """Each attempt goes to the webhook's current URL, signed with its current secret."""
        webhook = self._store.get(WEBHOOKS, delivery.tenant, delivery.target)
        if webhook is None:
            return None
        return Prepared(url=webhook.url, headers=signing.headers(webhook.secret, timestamp, delivery.body))
