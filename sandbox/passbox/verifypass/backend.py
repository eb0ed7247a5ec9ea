"""VerifyPass behaviour, with no HTTP: API keys, applicant tokens, the widget flow, webhooks,
reporting.

Accounts, widgets and communities come from fixtures and never change; what happens at
runtime (activity, handed-out codes, the applicant cache, spent tokens, webhook URLs set
through the sandbox configuration) lives in the store under the account's tenant. A
verification is one unit of work: the spent-token check and mark, the unique code, the
activity, the cache and the webhook deliveries commit together, so one single-use token is
spent once and one code handed out once, whatever runs concurrently.
"""

from __future__ import annotations

import hmac
import json
import math
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Literal

import msgspec

from passbox.core.clock import isoformat_z
from passbox.core.errors import FieldError, NotFound, SandboxError
from passbox.core.responses import compact_json, laravel_json
from passbox.core.runtime import Core
from passbox.core.store import Kind
from passbox.core.validation import SchemaValidators
from passbox.core.webhooks import Delivery, Prepared
from passbox.settings import Settings
from passbox.verifypass import scenarios
from passbox.verifypass.fixtures import Directory
from passbox.verifypass.models import (
    CACHE_PERIODS,
    VENDOR,
    Account,
    Activity,
    Applicant,
    Widget,
    account_id_of,
    tenant_of,
)
from passbox.verifypass.tokens import TokenCodec, TokenError

TOKEN_FORMAT = 1  # applicant token plaintext: [format, account, jti, iat, exp, first, last, dob, email, lock, uid]

PAGE_SIZE = 250
MAX_PAGE = 1_000_000

INVALID_API_KEY = "Invalid API key."
INVALID_CREDENTIALS = "Invalid auth credentials."
INVALID_EMAIL = "E-mail appears to be invalid."
EVENT_TYPE = "verification"
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class VerifyPassError(SandboxError):
    """An API error whose message is the exact ``error`` string VerifyPass answers with."""


REFUSAL_CODES = {400: "invalid_token", 403: "forbidden", 404: "not_found", 409: "token_spent", 410: "token_expired"}


class WidgetRefusal(SandboxError):
    """The widget cannot be used as asked; the page says why and what to do."""

    def __init__(self, message: str, *, status: int, heading: str, account: Account | None = None) -> None:
        super().__init__(message, status=status, code=REFUSAL_CODES.get(status, "refused"))
        self.heading = heading
        self.account = account


class WebhookUrl(msgspec.Struct, frozen=True):
    """A webhook URL set at runtime (None clears the fixture's URL)."""

    url: str | None


ACTIVITY = Kind("verifypass.activity", Activity)
CACHE = Kind("verifypass.cache", Activity)  # widget:e-mail -> the positive verification it remembers
CODES = Kind("verifypass.codes", int)  # widget -> unique codes handed out
SPENT = Kind("verifypass.spent_tokens", str)  # token jti -> when it was spent
WEBHOOK_URLS = Kind("verifypass.webhook_urls", WebhookUrl)


class WidgetSession(msgspec.Struct, frozen=True):
    """What the widget shows for one visit: prefill, lock, uid, and whether it can be used."""

    widget: Widget
    account: Account
    applicant: Applicant | None
    prefill: Mapping[str, str]
    locked_email: str | None
    uid: str | None
    uid_from_token: bool
    gate: str | None = None

    @property
    def email_locked(self) -> bool:
        return self.locked_email is not None


class Outcome(msgspec.Struct, frozen=True):
    activity: Activity | None
    outcome: Literal["positive", "negative"]
    code: str | None = None
    message: str | None = None
    returning: bool = False
    codes_exhausted: bool = False
    deliveries: tuple[str, ...] = ()


def laravel_attribute(field: str) -> str:
    return field.replace("_", " ")


def laravel_message(error: FieldError) -> str:
    """A validation message worded as Laravel words it (VerifyPass is a Laravel app)."""
    attribute = laravel_attribute(error.field)
    if error.field == "body":
        return "The request body must be a JSON object."
    if error.field == "dob" and error.kind in ("pattern", "format", "type"):
        return "The dob field must match the format Y-m-d."
    if error.kind == "type" and error.limit == "boolean":
        return f"The {attribute} field must be true or false."
    if error.kind == "type" and error.limit == "string":
        return f"The {attribute} field must be a string."
    if error.kind == "type" and error.limit == "integer":
        return f"The {attribute} field must be an integer."
    if error.kind == "maxLength":
        return f"The {attribute} field must not be greater than {error.limit} characters."
    if error.kind == "required":
        return f"The {attribute} field is required."
    return f"The {attribute} field is invalid."


class VerifyPassBackend:
    def __init__(self, core: Core, settings: Settings, directory: Directory, validators: SchemaValidators) -> None:
        self._core = core
        self._settings = settings
        self._validators = validators
        self.directory = directory
        self.personas = core.personas
        self._store = core.store
        self.core = core
        self.settings = settings
        # A token's IV is drawn at the position its id took (one counter step for both); the
        # stream is not "verifypass.iv", whose positions earlier tokens used with the same key.
        self.codec = TokenCodec(
            core.rand.key_bytes("verifypass.app_key", 32), core.rand.secret_stream("verifypass.token-iv")
        )
        self._ids = core.rand.stream("verifypass.ids")
        self._applicants = core.rand.stream("verifypass.applicants")
        core.outbox.register(VENDOR, self._prepare_delivery)

    # -- API keys ------------------------------------------------------------------------------

    def account_for_key(self, key: str | None) -> Account | None:
        """The account whose API key this is, compared in constant time against every key."""
        found: Account | None = None
        candidate = (key or "").encode()
        for account in self.directory.accounts.values():
            if hmac.compare_digest(candidate, account.api_key.encode()) and key:
                found = account
        return found

    def require_account(self, key: str | None, message: str = INVALID_API_KEY) -> Account:
        account = self.account_for_key(key)
        if account is None:
            raise VerifyPassError(message, status=401)
        return account

    def is_valid_email(self, value: object) -> bool:
        return isinstance(value, str) and not self._validators.errors("Email", value)

    # -- applicant tokens ----------------------------------------------------------------------

    def create_token(self, account: Account, payload: Any) -> str:
        problems = self._validators.errors("TokenRequest", payload)
        if problems:
            if (
                isinstance(payload, dict)
                and payload.get("lock_email") is True
                and any(problem.field == "email" for problem in problems)
            ):
                raise VerifyPassError(INVALID_EMAIL, status=422)
            raise VerifyPassError(laravel_message(problems[0]), status=422)
        now = self._core.clock.unix()
        ttl = self.token_ttl(account)
        (at,) = self._ids.positions(1)
        fields: list[Any] = [
            TOKEN_FORMAT,
            account.id,
            self._ids.token_bytes_at(at, 8).hex(),
            now,
            None if ttl is None else now + ttl,
            *(payload.get(name) for name in ("first_name", "last_name", "dob", "email")),
            1 if payload.get("lock_email") is True else 0,
            payload.get("uid"),
        ]
        while fields[-1] in (None, 0) and len(fields) > 5:
            fields.pop()  # compact: the token for the vendor's sample is about as long as its sample
        return self.codec.encrypt(compact_json(fields), position=at)

    def token_ttl(self, account: Account) -> int | None:
        return account.token_ttl if account.token_ttl is not None else self._settings.applicant_token_ttl

    def single_use(self, account: Account) -> bool:
        if account.single_use_tokens is not None:
            return account.single_use_tokens
        return self._settings.applicant_token_single_use

    def read_token(self, token: str) -> Applicant:
        """The applicant inside a token, or a WidgetRefusal saying why it cannot be used."""
        invalid = WidgetRefusal(
            "This verification link is not valid. Please go back to the business's website and start again.",
            status=400,
            heading="This link is not valid",
        )
        try:
            fields = json.loads(self.codec.decrypt(token))
            if not isinstance(fields, list) or len(fields) < 5 or fields[0] != TOKEN_FORMAT:
                raise TypeError("not a passbox applicant token")
            fields += [None] * (11 - len(fields))
            applicant = Applicant(
                account_id=_str(fields[1]),
                jti=_str(fields[2]),
                issued_at=_int(fields[3]),
                expires_at=None if fields[4] is None else _int(fields[4]),
                first_name=_opt_str(fields[5]),
                last_name=_opt_str(fields[6]),
                dob=_opt_str(fields[7]),
                email=_opt_str(fields[8]),
                lock_email=fields[9] == 1,
                uid=_opt_str(fields[10]),
            )
        except (TokenError, ValueError, TypeError, UnicodeDecodeError) as exc:
            raise invalid from exc
        if applicant.account_id not in self.directory.accounts:
            raise invalid
        if applicant.expires_at is not None and self._core.clock.unix() >= applicant.expires_at:
            raise WidgetRefusal(
                "This verification link has expired. Please go back to the business's website and start again.",
                status=410,
                heading="This link has expired",
            )
        if self._store.get(SPENT, tenant_of(applicant.account_id), applicant.jti) is not None:
            raise _spent()
        return applicant

    # -- the widget ----------------------------------------------------------------------------

    def widget(self, key: str) -> Widget:
        widget = self.directory.widgets.get(key)
        if widget is None:
            raise NotFound("There is no verification page at this address.")
        return widget

    def session(self, widget_key: str, visit: WidgetVisit) -> WidgetSession:
        """What the widget at ``widget_key`` shows for this visit."""
        widget = self.widget(widget_key)
        account = self.directory.accounts[widget.account_id]
        if not widget.active:
            raise WidgetRefusal(
                f"This verification is not available right now. Please contact {account.name}.",
                status=403,
                heading="Not available",
                account=account,
            )
        applicant = self.read_token(visit.token) if visit.token else None
        if applicant is not None and applicant.account_id != widget.account_id:
            raise WidgetRefusal(
                "This verification link was made for another business.",
                status=403,
                heading="This link is not valid here",
                account=account,
            )
        query_uid = visit.uid
        if query_uid is not None and len(query_uid) > 64:
            raise WidgetRefusal("The uid may be at most 64 characters.", status=400, heading="This link is not valid")

        prefill: dict[str, str] = {}
        for name in ("first_name", "last_name", "dob", "email"):
            from_token = getattr(applicant, name) if applicant else None
            value = from_token if from_token is not None else getattr(visit, name)
            if value:
                prefill[name] = value
        locked: str | None = None
        if applicant is not None and applicant.lock_email and applicant.email:
            locked = applicant.email
        elif (applicant is None or applicant.email is None) and visit.lock_email and self.is_valid_email(visit.email):
            # URL prefill can lock too, but only with a valid e-mail; the URL is not a secret.
            locked = visit.email
        if locked is not None:
            prefill["email"] = locked

        uid_from_token = applicant is not None and applicant.uid is not None
        uid = applicant.uid if applicant is not None and applicant.uid is not None else query_uid

        gate = None
        if widget.require_token and applicant is None:
            gate = "token_required"
        elif widget.mode == "private" and applicant is None and uid is None:
            gate = "private"
        return WidgetSession(widget, account, applicant, prefill, locked, uid, uid_from_token, gate)

    def verify(
        self, session: WidgetSession, form: Mapping[str, str], *, ineligible_is_negative: bool = False
    ) -> Outcome:
        """Run a verification from the submitted widget form.

        The form's sandbox controls (``outcome``, ``persona``) choose the outcome; a magic
        e-mail (see scenarios.py) in the token or the form overrides them. A community the
        widget does not accept is a negative outcome when it comes from a magic value, a persona
        (or ``ineligible_is_negative``); from the form's own picker it is a form error.
        """
        if session.gate is not None:
            raise WidgetRefusal(
                "This verification cannot be started here.",
                status=403,
                heading="Not available",
                account=session.account,
            )
        widget = session.widget
        values = {name: form.get(name, "").strip() for name in ("first_name", "last_name", "email", "dob")}
        community_key = form.get("community") or (widget.communities[0].key if len(widget.communities) == 1 else "")
        outcome = form.get("outcome", "positive")
        persona_key = form.get("persona") or None

        token_email = session.applicant.email if session.applicant else None
        magic = scenarios.parse(token_email, self.directory.communities, self._core.personas) or scenarios.parse(
            values["email"], self.directory.communities, self._core.personas
        )
        if magic is not None:
            outcome = magic.outcome
            community_key = magic.community or community_key
            persona_key = magic.persona or persona_key

        problems: list[FieldError] = []
        if persona_key is not None:
            persona = self._core.personas.get(persona_key)
            if persona is None:
                problems.append(FieldError("persona", "Choose a known persona."))
            else:
                values.update(
                    first_name=persona.first_name, last_name=persona.last_name, dob=persona.date_of_birth.isoformat()
                )
                if session.locked_email is None:
                    values["email"] = persona.email
                if (magic is None or magic.community is None) and persona.community:
                    community_key = persona.community
                    ineligible_is_negative = True  # a person, not the picker: they may not qualify
        first_name, last_name, email, dob = values["first_name"], values["last_name"], values["email"], values["dob"]
        if not first_name or len(first_name) > 255:
            problems.append(FieldError("first_name", "Enter your first name."))
        if not last_name or len(last_name) > 255:
            problems.append(FieldError("last_name", "Enter your last name."))
        if not self.is_valid_email(email):
            problems.append(FieldError("email", INVALID_EMAIL))
        elif session.locked_email is not None and email.lower() != session.locked_email.lower():
            problems.append(FieldError("email", "This e-mail address was set by the business and cannot be changed."))
        if not _valid_dob(dob, self._core.clock.now().date()):
            problems.append(FieldError("dob", "Enter your date of birth as YYYY-MM-DD."))
        community = widget.community(community_key)
        if community is None and community_key in self.directory.communities and (magic or ineligible_is_negative):
            outcome = "negative"  # a magic community the widget does not accept: not eligible
        elif community is None:
            problems.append(FieldError("community", "Choose the community you belong to."))
        if outcome not in ("positive", "negative"):
            problems.append(FieldError("outcome", "Choose a positive or negative outcome."))
        if problems:
            raise FormInvalid(problems)

        with self._store.transaction():
            return self._record(session, widget, community, outcome, community_key, first_name, last_name, email, dob)

    def _record(
        self,
        session: WidgetSession,
        widget: Widget,
        community: object,
        outcome: str,
        community_key: str,
        first_name: str,
        last_name: str,
        email: str,
        dob: str,
    ) -> Outcome:
        """The writing half of a verification, in one unit of work."""
        now = self._core.clock.now()
        tenant = session.account.tenant
        retire_at = now.timestamp() + self._settings.retention_seconds
        if session.applicant is not None and self._store.get(SPENT, tenant, session.applicant.jti) is not None:
            raise _spent()  # spent by a concurrent submission since the page was read
        base = Activity(
            id=self._ids.uuid4(),
            account_id=session.account.id,
            widget_key=widget.key,
            community_key=community_key,
            first_name=first_name,
            last_name=last_name,
            email=email,
            dob=dob,
            outcome="negative",
            created_at=now,
            uid=session.uid,
            token_jti=session.applicant.jti if session.applicant else None,
        )
        if outcome == "negative" or community is None:
            self._store.put(ACTIVITY, tenant, base.id, base, retire_at=retire_at)
            return Outcome(activity=base, outcome="negative")

        cached = self._cached(widget, email)
        if cached is not None:
            return Outcome(
                activity=cached,
                outcome="positive",
                code=cached.data,
                message=widget.action.message,
                returning=True,
            )

        code: str | None = None
        exhausted = False
        if widget.action.type == "same_code":
            code = widget.action.code
        elif widget.action.type == "unique_codes":
            code = self._next_unique_code(session.account, widget)
            exhausted = code is None
        activity = msgspec.structs.replace(base, outcome="positive", data=code)
        self._store.put(ACTIVITY, tenant, activity.id, activity, retire_at=retire_at)
        if not exhausted and widget.cache_period != "none":
            period = CACHE_PERIODS[widget.cache_period]
            cache_until = None if period is None else (now + period).timestamp()
            self._store.put(CACHE, tenant, _cache_key(widget, email), activity, retire_at=cache_until)
        if session.applicant is not None and self.single_use(session.account):
            expires = session.applicant.expires_at
            spent_until = None if expires is None else expires + self._settings.retention_seconds
            if not self._store.insert(SPENT, tenant, session.applicant.jti, isoformat_z(now), retire_at=spent_until):
                raise _spent()
        deliveries = self._send_webhooks(session.account, widget, activity)
        return Outcome(
            activity=activity,
            outcome="positive",
            code=code,
            message=widget.action.message,
            codes_exhausted=exhausted,
            deliveries=tuple(delivery.id for delivery in deliveries),
        )

    def control_verify(
        self,
        widget_key: str,
        *,
        token: str | None = None,
        uid: str | None = None,
        outcome: str | None = None,
        community: str | None = None,
        persona: str | None = None,
        applicant: Mapping[str, str] | None = None,
    ) -> Outcome:
        """A verification without the browser: the same session, gates, records and webhook as
        the widget. Details not given come from the token, then from a seeded en_US person."""
        session = self.session(widget_key, WidgetVisit(token=token or None, uid=uid or None))
        name = self._core.fake.name("en_US", "verifypass", widget_key, self._applicants.hex(8))
        age_days = self._applicants.randint(18 * 365 + 5, 70 * 365)
        generated = {
            "first_name": name.first_name,
            "last_name": name.last_name,
            "email": self._core.fake.email("en_US", name, widget_key),
            "dob": (self._core.clock.now().date() - timedelta(days=age_days)).isoformat(),
        }
        given = dict(applicant or {})
        prefill = {key: value for key, value in session.prefill.items() if self._usable(key, value)}
        if session.locked_email is not None:
            prefill["email"] = session.locked_email
        form = {key: given.get(key) or prefill.get(key) or generated[key] for key in generated}
        form["community"] = community or session.widget.communities[0].key
        form["outcome"] = outcome or "positive"
        if persona:
            form["persona"] = persona
        return self.verify(session, form, ineligible_is_negative=True)

    def _usable(self, field: str, value: str) -> bool:
        """Whether a prefilled value would pass the widget form's own checks."""
        if field == "email":
            return self.is_valid_email(value)
        if field == "dob":
            return _valid_dob(value, self._core.clock.now().date())
        return bool(value.strip()) and len(value) <= 255

    def _cached(self, widget: Widget, email: str) -> Activity | None:
        """The earlier positive verification of this applicant, if the cache period still covers it."""
        if widget.cache_period == "none":
            return None
        period = CACHE_PERIODS[widget.cache_period]
        activity = self._store.get(CACHE, tenant_of(widget.account_id), _cache_key(widget, email))
        if activity is None:
            return None
        if period is not None and self._core.clock.now() >= activity.created_at + period:
            return None
        return activity

    def _next_unique_code(self, account: Account, widget: Widget) -> str | None:
        used = self._store.get(CODES, account.tenant, widget.key) or 0
        if used >= len(widget.action.codes):
            return None
        self._store.put(CODES, account.tenant, widget.key, used + 1)
        return widget.action.codes[used]

    def codes_left(self, widget: Widget) -> int | None:
        if widget.action.type != "unique_codes":
            return None
        used = self._store.get(CODES, tenant_of(widget.account_id), widget.key) or 0
        return max(0, len(widget.action.codes) - used)

    # -- webhooks ------------------------------------------------------------------------------

    def set_webhook_url(self, account_id: str, url: str | None, widget_key: str | None = None) -> None:
        account = self.directory.accounts.get(account_id)
        if account is None:
            raise NotFound(f"No account {account_id!r}")
        if widget_key is not None and widget_key not in account.widgets:
            raise NotFound(f"No widget {widget_key!r} in account {account_id!r}")
        key = f"widget:{widget_key}" if widget_key else "account"
        self._store.put(WEBHOOK_URLS, account.tenant, key, WebhookUrl(url))

    def webhook_url(self, account: Account, widget: Widget | None = None) -> str | None:
        key = f"widget:{widget.key}" if widget else "account"
        override = self._store.get(WEBHOOK_URLS, account.tenant, key)
        if override is not None:
            return override.url
        return widget.webhook_url if widget else account.webhook_url

    def _send_webhooks(self, account: Account, widget: Widget, activity: Activity) -> list[Delivery]:
        """One delivery to the widget URL and one to the account URL; one only when they are equal."""
        community = widget.community(activity.community_key)
        assert community is not None
        record: dict[str, Any] = {
            "first_name": activity.first_name,
            "last_name": activity.last_name,
            "email": activity.email,
        }
        if activity.data is not None:
            record["discount_code"] = activity.data
        record.update(
            {
                "time": activity.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "group_short": community.key,
                "group": community.name,
                "widget_key": widget.key,
            }
        )
        if activity.uid is not None:
            record["uid"] = activity.uid
        body = laravel_json({"data": [record]})
        targets: dict[str, str] = {}
        for target, url in (
            ("widget:" + widget.key, self.webhook_url(account, widget)),
            ("account", self.webhook_url(account)),
        ):
            if url and url not in targets.values():
                targets[target] = url
        return [
            self._core.outbox.enqueue(
                vendor=VENDOR,
                tenant=account.tenant,
                event_type=EVENT_TYPE,
                event_id=activity.id,
                target=target,
                url=url,
                body=body,
                delivery_id=self._ids.uuid4(),
                meta={"widget_key": widget.key},
            )
            for target, url in targets.items()
        ]

    def _prepare_delivery(self, delivery: Delivery, timestamp: int) -> Prepared | None:
        account = self.directory.accounts.get(account_id_of(delivery.tenant))
        if account is None:
            return None
        return Prepared(url=delivery.url, headers={"X-VFYPS-Key": account.api_key})

    # -- reporting -----------------------------------------------------------------------------

    def report(self, account: Account, filters: ReportFilters) -> dict[str, Any]:
        page, start, end = filters.page, filters.start, filters.end
        widget_key, community_key = filters.widget_key, filters.community_key
        search = filters.search.strip().lower()

        def matches(activity: Activity) -> bool:
            day = activity.created_at.date()
            return (
                activity.outcome == "positive"
                and (widget_key is None or activity.widget_key == widget_key)
                and (community_key is None or activity.community_key == community_key)
                and (start is None or day >= start)
                and (end is None or day <= end)
                and (
                    not search
                    or search in activity.email.lower()
                    or search in activity.last_name.lower()
                    or (activity.uid is not None and search in activity.uid.lower())
                )
            )

        found = [
            activity
            for activity in self._store.values(ACTIVITY, account.tenant, newest_first=True)
            if matches(activity)
        ]
        max_page = max(1, math.ceil(len(found) / PAGE_SIZE))
        rows = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return {"count": len(found), "maxPage": max_page, "data": [activity.to_report() for activity in rows]}

    def find_activity(self, activity_id: str) -> Activity | None:
        found = self._store.find(ACTIVITY, activity_id)
        return found[1] if found else None

    def activity_page(self, account_id: str | None, *, limit: int, offset: int = 0) -> list[Activity]:
        """One account's verifications (or every account's), oldest first."""
        if account_id is not None:
            return self.activity(account_id, limit=limit, offset=offset)
        return [activity for _, activity in self._store.scan(ACTIVITY, limit=limit, offset=offset)]

    def recent_activity(self, *, limit: int, offset: int = 0) -> list[Activity]:
        """Every account's verifications, newest first."""
        return [activity for _, activity in self._store.scan(ACTIVITY, newest_first=True, limit=limit, offset=offset)]

    def count_activity(self, account_id: str) -> int:
        return self._store.count(ACTIVITY, tenant_of(account_id))

    def activity(
        self, account_id: str, *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[Activity]:
        return self._store.values(
            ACTIVITY, tenant_of(account_id), newest_first=newest_first, limit=limit, offset=offset
        )


class FormInvalid(SandboxError):
    """The widget form has problems; the page shows each next to its field."""

    status = 422
    code = "validation_error"

    def __init__(self, problems: list[FieldError]) -> None:
        super().__init__("; ".join(problem.message for problem in problems), details=problems)


def _spent() -> WidgetRefusal:
    return WidgetRefusal(
        "This verification link was already used. Please go back to the business's website to get a new one.",
        status=409,
        heading="This link was already used",
    )


def _cache_key(widget: Widget, email: str) -> str:
    return f"{widget.key}:{email.lower()}"


def _valid_dob(value: str, today: date) -> bool:
    if not DATE.fullmatch(value):
        return False
    try:
        born = date.fromisoformat(value)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= today


class ReportFilters(msgspec.Struct, frozen=True):
    """What a reporting request asks for (parsed from its query string at the edge)."""

    page: int = 1
    start: date | None = None
    end: date | None = None
    widget_key: str | None = None
    community_key: str | None = None
    search: str = ""

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> ReportFilters:
        """The filters of a query string, or the VerifyPass error (422) Laravel's validator gives."""
        for name in ("widget_key", "community_key", "search"):
            if len(query.get(name) or "") > 255:
                raise VerifyPassError(
                    f"The {laravel_attribute(name)} field must not be greater than 255 characters.",
                    status=422,
                )
        return cls(
            page=_page(query.get("page")),
            start=_date_param(query, "startDate", "start date"),
            end=_date_param(query, "endDate", "end date"),
            widget_key=query.get("widget_key") or None,
            community_key=query.get("community_key") or None,
            search=query.get("search") or "",
        )


class WidgetVisit(msgspec.Struct, frozen=True):
    """What a visit to the widget brings (parsed from its query string at the edge)."""

    token: str | None = None
    uid: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    dob: str | None = None
    email: str | None = None
    lock_email: bool = False

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> WidgetVisit:
        return cls(
            token=query.get("token") or None,
            uid=query.get("uid") or None,
            first_name=query.get("first_name") or None,
            last_name=query.get("last_name") or None,
            dob=query.get("dob") or None,
            email=query.get("email") or None,
            lock_email=query.get("lock_email", "").lower() == "true",
        )


def _page(raw: str | None) -> int:
    if raw is None:
        return 1
    if not raw.isascii() or not raw.isdigit():
        raise VerifyPassError("The page field must be an integer.", status=422)
    if len(raw.lstrip("0")) > len(str(MAX_PAGE)):
        raise VerifyPassError(f"The page field must not be greater than {MAX_PAGE}.", status=422)
    page = int(raw)
    if page < 1:
        raise VerifyPassError("The page field must be at least 1.", status=422)
    if page > MAX_PAGE:
        raise VerifyPassError(f"The page field must not be greater than {MAX_PAGE}.", status=422)
    return page


def _date_param(query: Mapping[str, str], name: str, attribute: str) -> date | None:
    raw = query.get(name)
    if raw is None:
        return None
    message = f"The {attribute} field must match the format Y-m-d."
    if not DATE.fullmatch(raw):
        raise VerifyPassError(message, status=422)
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise VerifyPassError(message, status=422) from exc


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value
