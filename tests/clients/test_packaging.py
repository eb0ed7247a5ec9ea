"""The clients stand alone: httpx and the standard library only, typed, never the sandbox."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CLIENTS = Path(__file__).resolve().parents[2] / "clients" / "passbox_clients"
ALLOWED_THIRD_PARTY = {"httpx"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(CLIENTS.rglob("*.py")), ids=lambda p: str(p.relative_to(CLIENTS)))
def test_a_client_module_imports_only_httpx_the_stdlib_and_itself(path: Path) -> None:
    outside = (
        imported_modules(path) - set(sys.stdlib_module_names) - ALLOWED_THIRD_PARTY - {"passbox_clients", "__future__"}
    )
    assert outside == set(), f"{path} imports {outside}"


def test_the_clients_are_typed() -> None:
    assert (CLIENTS / "py.typed").exists()
