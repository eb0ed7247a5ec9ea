"""schemathesis' own CLI against a real uvicorn server started by this test: all three specs,
every check, every phase (examples, coverage, fuzzing, stateful through the spec's links),
a fixed seed, and a budget of examples that keeps the whole run to seconds.

In-process runs (the other test_*_schemathesis.py files) surface app exceptions directly; this
run sees what a client sees over a socket (a crash would be a 500, ST101).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from passbox.app import create_app
from passbox.settings import Settings
from tests.helpers import live_server

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def server_url() -> Iterator[str]:
    # One server per spec: the control-plane run adds faults, moves the clock and resets.
    # schemathesis registers many webhooks; a high per-client cap keeps creation reachable.
    # Its probes send malformed requests on purpose; uvicorn logs only errors.
    with live_server(create_app(Settings(seed=20261122, max_webhooks=100_000)), log_level="error") as url:
        yield url


@pytest.mark.parametrize("spec", ["seekpass", "verifypass", "sandbox"])
def test_schemathesis_cli_against_a_live_server(server_url: str, spec: str) -> None:
    result = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{server_url}/specs/{spec}.openapi.json",
            "--url", server_url,
            "--checks", "all",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", "40",
            "--seed", "20261122",
            "--request-timeout", "10",
            "--warnings", "off",
            "--no-color",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout, result.stdout[-2000:]
