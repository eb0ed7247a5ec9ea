"""The partner API's routing: every path with and without one ``.json``, as SEEK Pass answers."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from passbox.core.routing import Router
from passbox.seekpass.routes import JsonRoute


def matched(app: Starlette, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    router = app.router
    assert isinstance(router, Router)
    found = router.full_match({"type": "http", "method": method, "path": path, "root_path": "", "headers": []})
    if found is None:
        return None
    route, child_scope = found
    assert isinstance(route, JsonRoute)
    return route.name, child_scope["path_params"]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        pytest.param("POST", "/api/partner/v1/oauth/token", ("token", {}), id="token"),
        pytest.param("POST", "/api/partner/v1/oauth/token.json", ("token", {}), id="token-json"),
        pytest.param(
            "POST", "/api/partner/v2/verify/requests/digital_identity.json", ("create_request", {}), id="create"
        ),
        pytest.param(
            "GET",
            "/api/partner/v2/verify/requests/digital_identity.json",
            ("get_request", {"request_id": "digital_identity"}),
            id="get-named-like-create",
        ),
        pytest.param(
            "GET", "/api/partner/v2/verify/requests/a/b.c.json", ("get_request", {"request_id": "a/b.c"}), id="slashes"
        ),
        pytest.param(
            "GET",
            "/api/partner/v2/verify/requests/report.json.json",
            ("get_request", {"request_id": "report.json"}),
            id="one-suffix-only",
        ),
        pytest.param("GET", "/api/partner/v2/webhooks.json", ("webhooks", {}), id="webhooks"),
        pytest.param("DELETE", "/api/partner/v2/webhooks/w1.json", ("webhook", {"webhook_id": "w1"}), id="webhook"),
        pytest.param(
            "PUT",
            "/api/partner/v2/webhooks/w1.json/secret",
            ("rotate_secret", {"webhook_id": "w1.json"}),
            id="suffix-only-at-the-end",
        ),
        pytest.param(
            "PUT", "/api/partner/v2/webhooks/w1/secret.json", ("rotate_secret", {"webhook_id": "w1"}), id="rotate"
        ),
        pytest.param("GET", "/api/partner/v2/webhooks/w1/secret.json", None, id="wrong-method"),
        pytest.param("GET", "/api/partner/v2/nothing.json", None, id="unknown"),
        pytest.param("POST", "/api/v2/token.json", None, id="not-the-partner-api"),
    ],
)
def test_partner_paths_match_with_and_without_one_suffix(
    app: Starlette, method: str, path: str, expected: tuple[str, dict[str, Any]] | None
) -> None:
    assert matched(app, method, path) == expected
