"""Which operation a request is: method and path matched against the specs' path templates.

Built once per app from the specs (plus the hosted pages each vendor declares), so fault rules
and the journal can name operations by their operationId.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

import msgspec

METHODS = ("get", "put", "post", "delete", "patch")
CLASSIFIED = "passbox_operation"


class Operation(msgspec.Struct, frozen=True):
    vendor: str
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]


# Parameters that may hold any string, "/" included (SEEK Pass request ids).
ANY_STRING = frozenset({"{request_id}"})


def compile_template(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(
        (".+" if part in ANY_STRING else "[^/]+") if part.startswith("{") else re.escape(part) for part in parts
    )
    return re.compile(f"^{regex}$")


class OperationIndex:
    def __init__(self, operations: Iterable[Operation]) -> None:
        self.operations = list(operations)
        # Twins: the same operation spelled with and without the ".json" suffix.
        groups: dict[tuple[str, str, str], set[str]] = {}
        for op in self.operations:
            groups.setdefault((op.vendor, op.method, op.template.removesuffix(".json")), set()).add(op.operation_id)
        self._twins = {
            op.operation_id: frozenset(groups[(op.vendor, op.method, op.template.removesuffix(".json"))])
            for op in self.operations
        }

    def spellings(self, operation_id: str) -> frozenset[str]:
        """The operation's ids whichever spelling of its path a client uses (with or without ``.json``)."""
        return self._twins.get(operation_id, frozenset({operation_id}))

    @classmethod
    def build(
        cls, documents: Mapping[str, Mapping[str, Any]], pages: Iterable[tuple[str, str, str, str]] = ()
    ) -> OperationIndex:
        """``documents``: vendor name -> OpenAPI document; ``pages``: (vendor, method, template, id)."""
        found: list[Operation] = []
        for vendor, document in documents.items():
            for template, item in document.get("paths", {}).items():
                for method in METHODS:
                    if method in item:
                        operation_id = item[method].get("operationId", f"{method} {template}")
                        found.append(
                            Operation(vendor, operation_id, method.upper(), template, compile_template(template))
                        )
        for vendor, method, template, operation_id in pages:
            found.append(Operation(vendor, operation_id, method.upper(), template, compile_template(template)))
        return cls(found)

    def match(self, method: str, path: str) -> Operation | None:
        method = "GET" if method.upper() == "HEAD" else method.upper()
        for operation in self.operations:
            if operation.method == method and operation.pattern.match(path):
                return operation
        return None

    def classify(
        self, scope: MutableMapping[str, Any], vendor_for: Callable[[str], str | None]
    ) -> tuple[str | None, Operation | None]:
        """The vendor an HTTP request belongs to (None: not vendor traffic) and its documented
        operation, if any. Worked out once per request and kept in its scope for later layers."""
        state = scope.setdefault("state", {})
        found: tuple[str | None, Operation | None] | None = state.get(CLASSIFIED)
        if found is None:
            operation = self.match(scope["method"], scope["path"])
            found = (operation.vendor if operation is not None else vendor_for(scope["path"])), operation
            state[CLASSIFIED] = found
        return found

    def ids(self, vendor: str | None = None) -> list[str]:
        found = [op.operation_id for op in self.operations if vendor is None or op.vendor == vendor]
        return list(dict.fromkeys(found))
