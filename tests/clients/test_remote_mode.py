"""The client tests' remote mode works: pointed by environment variables at a running sandbox
(standing in for a vendor's staging), the portable tests run there instead of skipping."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from passbox.app import create_app
from passbox.settings import Settings
from tests.helpers import live_server

ROOT = Path(__file__).resolve().parents[2]


def test_the_portable_client_tests_run_against_another_base_url() -> None:
    with live_server(create_app(Settings(seed=12))) as url:
        env = {
            **os.environ,
            "PASSBOX_REMOTE_SEEKPASS_URL": url,
            "PASSBOX_REMOTE_SEEKPASS_CLIENT_ID": "passbox-demo-client",
            "PASSBOX_REMOTE_SEEKPASS_CLIENT_SECRET": "passbox-demo-secret",
            "PASSBOX_REMOTE_VERIFYPASS_URL": url,
            "PASSBOX_REMOTE_VERIFYPASS_KEY": "passbox-demo-key",
        }
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "sync-remote",
             "tests/clients/test_seekpass_client.py", "tests/clients/test_verifypass_client.py"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))  # type: ignore[union-attr]
    assert passed >= 10, summary
