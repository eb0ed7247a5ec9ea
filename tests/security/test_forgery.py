"""With everything an unauthenticated client can read (GET /, the seed, the specs, the
fixtures' public ids), nobody can make a token or secret for a tenant: keys come from the
server secret, never from the seed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random

import httpx
import jwt
import pytest

from passbox.app import Sandbox
from passbox.core.rand import derive_seed
from tests.conftest import get_token

TOKEN_URL = "/api/partner/v1/oauth/token.json"
OTHER = "passbox-other-client"


def seed_derived_keys(seed: int, name: str, size: int) -> list[bytes]:
    """Keys an attacker could derive from the seed: the old derivation and obvious others."""
    old = random.Random(derive_seed(seed, "key", name)).getrandbits(8 * size).to_bytes(size, "big")
    return [
        old,
        hashlib.sha512(f"{seed}{name}".encode()).digest()[:size],
        hmac.new(str(seed).encode(), name.encode(), hashlib.sha512).digest()[:size],
        hashlib.blake2b(repr(("passbox-data", seed)).encode(), digest_size=32).digest()[:size].ljust(size, b"\0"),
    ]


def laravel_token(key: bytes, plaintext: bytes) -> str:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = b"\x01" * 16
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    value = base64.b64encode(encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize())
    iv_b64 = base64.b64encode(iv).decode()
    mac = hmac.new(key, (iv_b64 + value.decode()).encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(
        json.dumps({"iv": iv_b64, "value": value.decode(), "mac": mac, "tag": ""}).encode()
    ).decode()


async def test_no_access_token_for_another_partner_can_be_forged(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    seed = (await client.get("/")).json()["seed"]
    assert seed == sandbox.seed  # the seed is public: it makes data reproducible, nothing else
    now = sandbox.core.clock.unix()
    claims = {"iat": now, "exp": now + 60, "jti": "forged", "iss": "passbox-seekpass", "sub": OTHER,
              "client_id": OTHER, "scope": "write.digital_identity read.digital_identity"}  # fmt: skip
    for key in seed_derived_keys(seed, "seekpass.jwt", 64):
        forged = jwt.encode(claims, key, algorithm="HS512", headers={"typ": None})
        response = await client.get("/api/partner/v2/webhooks", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401, "a key derived from the seed signed a valid token"
        assert "signature is invalid" in response.json()["message"]


async def test_no_applicant_token_for_an_account_can_be_forged(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    seed = (await client.get("/")).json()["seed"]
    plaintext = json.dumps([1, "passbox-demo-account", "0" * 16, 0, None, "Eve"]).encode()
    for key in seed_derived_keys(seed, "verifypass.app_key", 32):
        page = await client.get("/auth/demo-widget", params={"token": laravel_token(key, plaintext)})
        assert page.status_code == 400
        assert "not valid" in page.text


async def test_webhook_secrets_cannot_be_predicted_from_the_seed(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    secret = (await client.post("/api/partner/v2/webhooks", headers=headers, json={"url": "https://x.example"})).json()[
        "secret"
    ]
    seed = sandbox.seed
    guesses = {
        random.Random(derive_seed(seed, "seekpass.secrets")).getrandbits(256).to_bytes(32, "big").hex(),
        hashlib.sha256(f"{seed}".encode()).hexdigest(),
    }
    assert secret not in guesses
    assert len(secret) == 64


@pytest.mark.parametrize("secret_key", [None, "a shared reproducible secret"])
async def test_two_sandboxes_with_the_same_seed_do_not_share_keys_unless_told(
    make_client: object, secret_key: str | None
) -> None:
    """The same seed gives the same data; keys are the same only with the same --secret-key."""
    tokens = []
    for _ in range(2):
        async with make_client(secret_key=secret_key) as (client, _sandbox):  # type: ignore[operator]
            tokens.append(await get_token(client))
    assert tokens[0].split(".")[1] == tokens[1].split(".")[1]  # the same claims
    assert (tokens[0] == tokens[1]) is (secret_key is not None)
