"""The examples of clients/README.md run, unchanged, against a live sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from passbox.app import create_app
from passbox.settings import Settings
from tests.helpers import live_server

README = Path(__file__).resolve().parents[2] / "clients" / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_has_examples_for_both_vendors() -> None:
    assert len(BLOCKS) == 4
    assert sum("passbox_clients.seekpass" in block for block in BLOCKS) == 2
    assert sum("passbox_clients.verifypass" in block for block in BLOCKS) == 2


@pytest.mark.parametrize("code", BLOCKS, ids=[f"example-{n}" for n in range(1, len(BLOCKS) + 1)])
def test_example_runs(code: str) -> None:
    with live_server(create_app(Settings(seed=11))) as url:
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PASSBOX_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=README.parent.parent,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip()
