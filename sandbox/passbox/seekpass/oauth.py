"""OAuth2 client credentials: client authentication, scope grants and HS512 access tokens.

No HTTP here: the route parses the request and hands over the form and Authorization header.
Tokens are JWTs signed with a key fixed per seed. Decoding pins HS512 (so ``none`` and every
other algorithm are refused) and checks expiry against the app clock, not the system clock.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

import msgspec

from passbox.core.clock import Clock
from passbox.core.rand import Stream
from passbox.seekpass.errors import InvalidClient, InvalidToken, OAuthError
from passbox.seekpass.models import Partner

ALGORITHM = "HS512"
ISSUER = "passbox-seekpass"
GRANT_TYPE = "client_credentials"
REQUIRED_CLAIMS = ["iat", "exp", "jti", "iss", "sub", "scope"]
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="SEEK Pass"'}
LEEWAY = 30  # seconds of clock skew allowed on iat/nbf/exp
VERIFIED_CACHE = 4096  # verified tokens whose claims are kept


class Claims(msgspec.Struct, frozen=True):
    client_id: str
    scopes: frozenset[str]
    issued_at: int
    expires_at: int
    jti: str
    not_before: int = 0


class ClientCredentials(msgspec.Struct, frozen=True):
    client_id: str
    secret: str
    via_basic: bool


class TokenRequest(msgspec.Struct, frozen=True):
    """A parsed token request: what the backend needs, without HTTP."""

    grant_type: str | None
    scope: str | None
    credentials: ClientCredentials


def token_request(form: Mapping[str, str], authorization: str | None) -> TokenRequest:
    """The token request in a form body and an Authorization header (HTTP parsing, at the edge)."""
    check_grant_type(form.get("grant_type"))
    return TokenRequest(form.get("grant_type"), form.get("scope"), client_credentials(form, authorization))


def bearer_token(authorization: str | None) -> str:
    """The access token of an ``Authorization: Bearer`` header (any case of ``Bearer``)."""
    if authorization is None or not authorization.strip():
        raise InvalidToken("An access token is required: send Authorization: Bearer <access token>")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise InvalidToken("The Authorization header must be 'Bearer <access token>'")
    return token


def client_credentials(form: Mapping[str, str], authorization: str | None) -> ClientCredentials:
    """The client's id and secret from the form body or an HTTP Basic header."""
    if authorization is not None and authorization.strip():
        scheme, _, encoded = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            raise InvalidClient(
                "Client authentication must use HTTP Basic or form fields",
                headers=BASIC_CHALLENGE,
            )
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise InvalidClient(
                "The Basic credentials are not valid base64 of client_id:client_secret",
                headers=BASIC_CHALLENGE,
            ) from exc
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise InvalidClient(
                "The Basic credentials must be client_id:client_secret",
                headers=BASIC_CHALLENGE,
            )
        basic = ClientCredentials(unquote_plus(client_id), unquote_plus(secret), True)
        # As Doorkeeper does: HTTP Basic wins; credentials repeated in the body must agree with it
        # (requests-oauthlib's include_client_id=True sends the client_id in both places).
        for name, value in (("client_id", basic.client_id), ("client_secret", basic.secret)):
            if name in form and not hmac.compare_digest(form[name].encode(), value.encode()):
                raise InvalidClient(
                    f"The {name} in the body does not match the HTTP Basic credentials", headers=BASIC_CHALLENGE
                )
        return basic
    client_id = form.get("client_id", "")
    secret = form.get("client_secret", "")
    if not client_id:
        raise OAuthError("client_id is required (in the form body or with HTTP Basic)")
    if not secret:
        raise OAuthError("client_secret is required (in the form body or with HTTP Basic)")
    return ClientCredentials(client_id, secret, False)


def authenticate(partners: Mapping[str, Partner], client_id: str, secret: str, via_basic: bool) -> Partner:
    partner = partners.get(client_id)
    # Compare against a dummy when the client is unknown, so timing does not reveal which ids exist.
    expected = partner.client_secret if partner else "\x00" * max(len(secret), 1)
    if not hmac.compare_digest(secret.encode(), expected.encode()) or partner is None:
        headers = BASIC_CHALLENGE if via_basic else None
        raise InvalidClient("Client authentication failed: unknown client or wrong secret", headers=headers)
    return partner


def check_grant_type(grant_type: str | None) -> None:
    if grant_type is None or grant_type == "":
        raise OAuthError("grant_type is required")
    if grant_type == GRANT_TYPE:
        return
    if grant_type == "refresh_token":
        # Client credentials never issue refresh tokens, so any refresh token is not one of ours.
        raise OAuthError("Refresh tokens are not issued for client credentials", code="invalid_grant")
    raise OAuthError(
        f"The grant type {grant_type!r} is not supported; use client_credentials",
        code="unsupported_grant_type",
    )


def grant_scopes(partner: Partner, requested: str | None) -> tuple[str, ...]:
    """The scopes to put in the token: those asked for, or all of the client's when none are."""
    wanted = list(dict.fromkeys((requested or "").split()))
    if not wanted:
        return partner.scopes
    missing = [scope for scope in wanted if scope not in partner.scopes]
    if missing:
        raise OAuthError(f"The client is not allowed the scope(s): {' '.join(missing)}", code="invalid_scope")
    return tuple(wanted)


class AccessTokens:
    def __init__(self, *, key: bytes, clock: Clock, rng: Stream, ttl: int) -> None:
        self._key = key
        self._clock = clock
        self._rng = rng
        self.ttl = ttl
        self._verified: dict[str, Claims] = {}

    def issue(self, partner: Partner, scopes: tuple[str, ...]) -> dict[str, Any]:
        now = self._clock.unix()
        scope = " ".join(scopes)
        # iat and exp first, as in the vendor's sample token.
        payload = {
            "iat": now,
            "exp": now + self.ttl,
            "jti": self._rng.uuid4(),
            "iss": ISSUER,
            "sub": partner.client_id,
            "client_id": partner.client_id,
            "scope": scope,
        }
        import jwt  # imported on first use: a server's start-up need not pay for PyJWT and cryptography's X.509

        token = jwt.encode(payload, self._key, algorithm=ALGORITHM, headers={"typ": None})
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.ttl,
            "scope": scope,
            "created_at": now,
        }

    def verify(self, token: str) -> Claims:
        """The claims of a token this server signed, valid now. A verified token's claims are
        cached (bounded), so the signature is checked once; the time checks run every time."""
        cached = self._verified.get(token)
        if cached is not None:
            self._check_times(cached.issued_at, cached.not_before, cached.expires_at)
            return cached
        claims = self._decode(token)
        if len(self._verified) >= VERIFIED_CACHE:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = claims
        return claims

    def _check_times(self, iat: int, nbf: int, exp: int) -> None:
        now = self._clock.unix()
        if now >= exp:
            raise InvalidToken("The access token expired")
        # Not valid yet (issued "in the future", e.g. while the sandbox clock was ahead and has
        # since been released), or valid for longer than any token this server issues.
        if iat > now + LEEWAY or nbf > now + LEEWAY:
            raise InvalidToken("The access token is not valid yet")
        if exp - iat > self.ttl + LEEWAY:
            raise InvalidToken("The access token claims a longer lifetime than this server issues")

    def _decode(self, token: str) -> Claims:
        import jwt

        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                # Time claims are checked below against the app clock, not the system clock.
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidAlgorithmError as exc:
            raise InvalidToken("The access token is not signed with HS512") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("The access token signature is invalid") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"The access token has no {exc.claim} claim") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("The access token is malformed") from exc
        exp, iat, nbf = payload["exp"], payload["iat"], payload.get("nbf", payload["iat"])
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (exp, iat, nbf)):
            raise InvalidToken("The access token has malformed time claims")
        if not isinstance(payload["sub"], str) or not isinstance(payload["scope"], str):
            raise InvalidToken("The access token has malformed claims")
        self._check_times(iat, nbf, exp)
        return Claims(
            client_id=payload["sub"],
            scopes=frozenset(payload["scope"].split()),
            issued_at=iat,
            expires_at=exp,
            jti=str(payload["jti"]),
            not_before=nbf,
        )
