"""Helpers for VerifyPass tests: make tokens, open and submit the widget without a browser."""

from __future__ import annotations

from typing import Any

import httpx

from passbox.app import Sandbox
from passbox.verifypass.backend import VerifyPassBackend

DEMO_KEY = "passbox-demo-key"
OTHER_KEY = "passbox-other-key"
KEY = {"key": DEMO_KEY}

APPLICANT = {
    "first_name": "Jane",
    "last_name": "Doe",
    "dob": "1988-04-12",
    "email": "jane.doe@example.com",
}


def backend_of(sandbox: Sandbox) -> VerifyPassBackend:
    backend: VerifyPassBackend = sandbox.vendors["verifypass"].backend
    return backend


async def make_token(client: httpx.AsyncClient, key: str = DEMO_KEY, **fields: Any) -> str:
    response = await client.post("/api/v2/token", json=fields, headers={"key": key})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def submit(
    client: httpx.AsyncClient,
    widget: str = "demo-widget",
    query: dict[str, str] | None = None,
    **form: str,
) -> httpx.Response:
    data = {**APPLICANT, "community": "mil", "outcome": "positive"}
    data.update(form)
    return await client.post(f"/auth/{widget}", params=query or {}, data=data)
