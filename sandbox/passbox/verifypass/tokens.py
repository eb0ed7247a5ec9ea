"""Applicant tokens in VerifyPass's real format: Laravel's encrypter payload.

A token is standard base64 of the compact JSON ``{"iv","value","mac","tag"}``:

- ``iv``: base64 of a random 16-byte IV;
- ``value``: base64 of the AES-256-CBC ciphertext (PKCS#7 padding) of the plaintext;
- ``mac``: lowercase hex HMAC-SHA256, keyed with the encryption key, over ``iv + value``
  (the two base64 strings concatenated), as Laravel computes it;
- ``tag``: ``""`` (only AEAD ciphers use it).

Decryption checks the MAC in constant time before touching the ciphertext. The plaintext is
the sandbox's own JSON (VerifyPass's is unknown and unreadable without its key); partners
must treat tokens as opaque anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from passbox.core.rand import Stream

KEY_BYTES = 32
IV_BYTES = 16
BLOCK_BYTES = 16
MAX_TOKEN_CHARS = 8192


class TokenError(Exception):
    """The token is not one of ours, or it was changed. The message says which check failed."""


class TokenCodec:
    def __init__(self, key: bytes, rng: Stream) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("AES-256 needs a 32-byte key")
        self._key = key
        self._rng = rng
        self._algorithm = algorithms.AES(key)
        self._keyed_mac = hmac.new(key, digestmod=hashlib.sha256)  # copied per token: keyed once
        # One CBC encryption that every token continues (making a cipher context per token was
        # most of a token's encryption): CBC encrypts each block XORed with the ciphertext block
        # before it, so a token whose first block is XORed with its IV and with the stream's last
        # ciphertext block comes out exactly as if encrypted alone under that IV.
        self._stream = Cipher(self._algorithm, modes.CBC(bytes(BLOCK_BYTES))).encryptor()
        self._chained = 0  # the stream's last ciphertext block (its IV, before the first token)

    def _mac(self, iv_b64: str, value_b64: str) -> str:
        mac = self._keyed_mac.copy()
        mac.update((iv_b64 + value_b64).encode())
        return mac.hexdigest()

    def _cbc(self, iv: bytes, padded: bytes) -> bytes:
        """AES-256-CBC of ``padded`` (whole blocks) under ``iv``, with no padding added."""
        first = int.from_bytes(padded[:BLOCK_BYTES], "big") ^ int.from_bytes(iv, "big") ^ self._chained
        ciphertext = self._stream.update(first.to_bytes(BLOCK_BYTES, "big") + padded[BLOCK_BYTES:])
        self._chained = int.from_bytes(ciphertext[-BLOCK_BYTES:], "big")
        return ciphertext

    def encrypt(self, plaintext: bytes, *, position: int | None = None) -> str:
        """A token for ``plaintext``. Its IV is the codec's stream's next draw, or its draw at
        ``position`` when the caller took a position of another stream for the token (each
        position is taken once, so IVs still never repeat, and they still come from the
        server secret)."""
        iv = self._rng.token_bytes(IV_BYTES) if position is None else self._rng.token_bytes_at(position, IV_BYTES)
        pad = BLOCK_BYTES - len(plaintext) % BLOCK_BYTES  # PKCS#7: 1 to 16 bytes, each the count
        padded = plaintext + bytes((pad,)) * pad
        ciphertext = self._cbc(iv, padded)
        iv_b64 = base64.b64encode(iv).decode()
        value_b64 = base64.b64encode(ciphertext).decode()
        # Compact, slashes unescaped: what json_encode(..., JSON_UNESCAPED_SLASHES) writes (base64
        # and hex need no escaping, so the JSON is written directly).
        payload = f'{{"iv":"{iv_b64}","value":"{value_b64}","mac":"{self._mac(iv_b64, value_b64)}","tag":""}}'
        return base64.b64encode(payload.encode()).decode()

    def decrypt(self, token: str) -> bytes:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenError("the token is empty or too long")
        try:
            payload = json.loads(base64.b64decode(token, validate=True))
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise TokenError("the token is not base64 of a JSON payload") from exc
        if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in ("iv", "value", "mac")):
            raise TokenError("the token payload lacks iv, value or mac")
        iv_b64, value_b64, mac = payload["iv"], payload["value"], payload["mac"]
        if not hmac.compare_digest(self._mac(iv_b64, value_b64).encode(), mac.encode()):
            raise TokenError("the token's MAC is invalid")
        try:
            iv = base64.b64decode(iv_b64, validate=True)
            ciphertext = base64.b64decode(value_b64, validate=True)
        except binascii.Error as exc:
            raise TokenError("the token's iv or value is not base64") from exc
        if len(iv) != IV_BYTES or not ciphertext or len(ciphertext) % 16:
            raise TokenError("the token's iv or value has the wrong length")
        decryptor = Cipher(self._algorithm, modes.CBC(iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError as exc:
            raise TokenError("the token could not be decrypted") from exc

    def encrypt_json(self, data: dict[str, Any]) -> str:
        return self.encrypt(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())

    def decrypt_json(self, token: str) -> dict[str, Any]:
        plaintext = self.decrypt(token)
        try:
            data = json.loads(plaintext)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenError("the token's content is not JSON") from exc
        if not isinstance(data, dict):
            raise TokenError("the token's content is not an object")
        return data
