"""The OpenAPI documents: loaded once per app, served as YAML and JSON, compiled to validators."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from passbox.core.resources import load_yaml_cached
from passbox.core.routing import Route
from passbox.core.validation import SchemaValidators


@dataclass(frozen=True)
class Spec:
    name: str
    document: dict[str, Any]
    yaml_bytes: bytes
    validators: SchemaValidators

    @classmethod
    def load(cls, path: Path) -> Spec:
        raw = path.read_bytes()
        document = load_yaml_cached(raw)
        if not isinstance(document, dict) or "openapi" not in document:
            raise ValueError(f"{path} is not an OpenAPI document")
        name = path.name.removesuffix(".openapi.yaml")
        return cls(name, document, raw, SchemaValidators(document))

    @cached_property
    def json_bytes(self) -> bytes:
        """The document as JSON, made when it is first asked for (most apps never are)."""
        return json.dumps(self.document, indent=2, ensure_ascii=False).encode()

    def routes(self) -> list[Route]:
        """``/specs/<name>.openapi.yaml`` and ``.json``."""

        async def as_yaml(request: Request) -> Response:
            return Response(self.yaml_bytes, media_type="application/yaml; charset=utf-8")

        async def as_json(request: Request) -> Response:
            return Response(self.json_bytes, media_type="application/json")

        return [
            Route(f"/specs/{self.name}.openapi.yaml", as_yaml, methods=["GET"]),
            Route(f"/specs/{self.name}.openapi.json", as_json, methods=["GET"]),
        ]
