"""OperationIndex: naming a request's vendor and operation from the spec's path templates."""

from __future__ import annotations

from typing import Any

from passbox.core.operations import OperationIndex

DOCUMENTS = {
    "acme": {
        "paths": {
            "/api/things/{id}": {"get": {"operationId": "getThing"}, "delete": {"operationId": "deleteThing"}},
            "/api/things": {"post": {}},
        }
    }
}


def index() -> OperationIndex:
    return OperationIndex.build(DOCUMENTS, [("acme", "GET", "/pages/{key}", "openPage")])


def vendor_for(path: str) -> str | None:
    return "acme" if path.startswith("/api/") else None


def test_match_by_method_and_template() -> None:
    found = index()

    def named(method: str, path: str) -> str | None:
        operation = found.match(method, path)
        return operation.operation_id if operation is not None else None

    assert named("GET", "/api/things/42") == "getThing"
    assert named("HEAD", "/api/things/42") == "getThing"
    assert named("POST", "/api/things") == "post /api/things"
    assert named("GET", "/pages/a") == "openPage"
    assert named("GET", "/api/things/42/more") is None
    assert named("PUT", "/api/things/42") is None


def test_classify_names_vendor_traffic_without_an_operation_too() -> None:
    found = index()
    vendor, operation = found.classify({"method": "GET", "path": "/api/unknown"}, vendor_for)
    assert (vendor, operation) == ("acme", None)
    assert found.classify({"method": "GET", "path": "/elsewhere"}, vendor_for) == (None, None)


def test_classify_works_once_per_request_and_keeps_the_answer_in_its_scope() -> None:
    found = index()
    calls: list[str] = []

    def counting(path: str) -> str | None:
        calls.append(path)
        return vendor_for(path)

    scope: dict[str, Any] = {"method": "DELETE", "path": "/api/things/7"}
    first = found.classify(scope, counting)
    scope["path"] = "/elsewhere"  # a later layer sees the same request, whatever it rewrote
    assert found.classify(scope, counting) == first
    assert first[0] == "acme" and first[1] is not None and first[1].operation_id == "deleteThing"
    unknown: dict[str, Any] = {"method": "GET", "path": "/api/nothing"}
    found.classify(unknown, counting)
    found.classify(unknown, counting)
    assert calls == ["/api/nothing"]
