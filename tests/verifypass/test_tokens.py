"""The applicant token codec: Laravel's encrypter payload, and every way a token can be broken."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passbox.core.rand import Rand
from passbox.core.store import MemoryStore
from passbox.verifypass.tokens import TokenCodec, TokenError

KEY = bytes(range(32))


SECRET = b"a test server secret"


def codec(key: bytes = KEY, seed: int = 1) -> TokenCodec:
    return TokenCodec(key, Rand(seed, MemoryStore(), SECRET).stream("iv"))


def payload_of(token: str) -> dict[str, str]:
    decoded: dict[str, str] = json.loads(base64.b64decode(token, validate=True))
    return decoded


def rebuild(payload: dict[str, str]) -> str:
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def test_round_trip() -> None:
    tokens = codec()
    for plaintext in (b"", b"x", b"0123456789abcdef", "héllo wörld".encode(), b"{" * 1000):
        assert tokens.decrypt(tokens.encrypt(plaintext)) == plaintext
    assert tokens.decrypt_json(tokens.encrypt_json({"a": "b/c"})) == {"a": "b/c"}


def test_the_token_is_base64_json_with_exactly_the_four_keys() -> None:
    token = codec().encrypt(b'{"email":"a@b.co"}')
    assert token.startswith("eyJpdiI6")  # base64 of '{"iv":', like the vendor's sample
    raw = base64.b64decode(token, validate=True)
    payload = json.loads(raw)
    assert list(payload) == ["iv", "value", "mac", "tag"]
    assert payload["tag"] == ""
    assert len(base64.b64decode(payload["iv"])) == 16
    assert len(base64.b64decode(payload["value"])) % 16 == 0
    # Laravel's MAC: hex HMAC-SHA256 over the base64 iv and value strings, keyed with the key.
    expected = hmac.new(KEY, (payload["iv"] + payload["value"]).encode(), hashlib.sha256).hexdigest()
    assert payload["mac"] == expected
    # Compact JSON with unescaped slashes (json_encode(..., JSON_UNESCAPED_SLASHES)).
    assert raw == json.dumps(payload, separators=(",", ":")).encode()
    assert b"\\/" not in raw


def test_each_token_has_its_own_iv() -> None:
    tokens = codec()
    first, second = tokens.encrypt(b"same"), tokens.encrypt(b"same")
    assert payload_of(first)["iv"] != payload_of(second)["iv"]
    assert payload_of(first)["value"] != payload_of(second)["value"]


def test_a_token_drawn_at_a_position_takes_its_iv_from_there() -> None:
    store = MemoryStore()
    stream = Rand(1, store, SECRET).stream("iv")
    tokens = TokenCodec(KEY, stream)
    at_7 = tokens.encrypt(b"same", position=7)
    assert base64.b64decode(payload_of(at_7)["iv"]) == stream.token_bytes_at(7, 16)
    assert tokens.encrypt(b"same", position=7) == at_7  # the position decides, not the stream's counter
    ivs = {payload_of(tokens.encrypt(b"same", position=n))["iv"] for n in range(1, 201)}
    assert len(ivs) == 200
    assert store.counter("rng:iv") == 0  # the stream's own counter was not stepped
    assert tokens.decrypt(at_7) == b"same"


def test_the_same_seed_gives_the_same_tokens() -> None:
    assert codec(seed=5).encrypt(b"x") == codec(seed=5).encrypt(b"x")
    assert codec(seed=5).encrypt(b"x") != codec(seed=6).encrypt(b"x")


def _flip(text: str) -> str:
    """Change one character of a base64 or hex string, keeping it well-formed."""
    index = len(text) // 2
    replacement = "A" if text[index] != "A" else "B"
    if all(c in "0123456789abcdef" for c in text):
        replacement = "0" if text[index] != "0" else "1"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize("field", ["iv", "value", "mac"])
def test_tampering_with_any_part_is_refused(field: str) -> None:
    tokens = codec()
    payload = payload_of(tokens.encrypt(b'{"email":"a@b.co","lock_email":true}'))
    payload[field] = _flip(payload[field])
    with pytest.raises(TokenError, match="MAC is invalid"):
        tokens.decrypt(rebuild(payload))


def test_a_recomputed_mac_without_the_key_does_not_help() -> None:
    tokens = codec()
    payload = payload_of(tokens.encrypt(b"secret"))
    payload["value"] = _flip(payload["value"])
    payload["mac"] = hmac.new(b"\x00" * 32, (payload["iv"] + payload["value"]).encode(), hashlib.sha256).hexdigest()
    with pytest.raises(TokenError, match="MAC is invalid"):
        tokens.decrypt(rebuild(payload))


def test_the_tag_is_not_authenticated_but_harmless() -> None:
    # Laravel ignores `tag` for CBC; changing it changes nothing.
    tokens = codec()
    payload = payload_of(tokens.encrypt(b"data"))
    payload["tag"] = "ignored"
    assert tokens.decrypt(rebuild(payload)) == b"data"


def test_a_token_from_another_key_is_refused() -> None:
    foreign = codec(key=b"\x01" * 32).encrypt(b"data")
    with pytest.raises(TokenError, match="MAC is invalid"):
        codec().decrypt(foreign)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("x" * 9000, "too long", id="too-long"),
        pytest.param("not base64!", "not base64", id="not-base64"),
        pytest.param(base64.b64encode(b"[1,2]").decode(), "lacks iv", id="json-array"),
        pytest.param(base64.b64encode(b'{"iv":"a"}').decode(), "lacks iv", id="missing-keys"),
        pytest.param(base64.b64encode(b'{"iv":1,"value":"a","mac":"b"}').decode(), "lacks iv", id="iv-not-string"),
        pytest.param(base64.b64encode(b"not json").decode(), "not base64 of a JSON", id="not-json"),
    ],
)
def test_malformed_tokens_are_refused(token: str, message: str) -> None:
    with pytest.raises(TokenError, match=message):
        codec().decrypt(token)


def test_wrong_lengths_with_a_valid_mac_are_refused() -> None:
    tokens = codec()
    iv = base64.b64encode(b"short").decode()
    value = base64.b64encode(b"x" * 16).decode()
    mac = hmac.new(KEY, (iv + value).encode(), hashlib.sha256).hexdigest()
    with pytest.raises(TokenError, match="wrong length"):
        tokens.decrypt(rebuild({"iv": iv, "value": value, "mac": mac, "tag": ""}))


def test_bad_padding_with_a_valid_mac_is_refused() -> None:
    tokens = codec()
    iv = base64.b64encode(b"\x00" * 16).decode()
    value = base64.b64encode(b"\x00" * 16).decode()
    mac = hmac.new(KEY, (iv + value).encode(), hashlib.sha256).hexdigest()
    with pytest.raises(TokenError, match="could not be decrypted"):
        tokens.decrypt(rebuild({"iv": iv, "value": value, "mac": mac, "tag": ""}))


def test_json_content_must_be_an_object() -> None:
    tokens = codec()
    with pytest.raises(TokenError, match="not an object"):
        tokens.decrypt_json(tokens.encrypt(b"[1]"))
    with pytest.raises(TokenError, match="not JSON"):
        tokens.decrypt_json(tokens.encrypt(b"plain"))


def test_keys_must_be_aes_256() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        TokenCodec(b"short", Rand(1, MemoryStore(), SECRET).stream("iv"))


@given(
    plaintexts=st.lists(st.binary(max_size=300), min_size=1, max_size=8),
    key=st.binary(min_size=32, max_size=32),
)
def test_each_token_is_encrypted_as_if_alone_under_its_iv(plaintexts: list[bytes], key: bytes) -> None:
    """Tokens continue one CBC stream; each must still be the ciphertext a fresh cipher gives."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    tokens = codec(key)
    for plaintext in plaintexts:
        payload = payload_of(tokens.encrypt(plaintext))
        iv, value = base64.b64decode(payload["iv"]), base64.b64decode(payload["value"])
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        alone = encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()
        assert value == alone
        assert payload["mac"] == hmac.new(key, (payload["iv"] + payload["value"]).encode(), hashlib.sha256).hexdigest()
        assert tokens.decrypt(rebuild(payload)) == plaintext
