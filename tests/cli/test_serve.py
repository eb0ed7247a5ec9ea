"""The passbox command: help, banner, errors, and a real start of `python -m passbox`."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from passbox.cli import banner, main
from passbox.settings import Settings
from tests.helpers import free_port


def test_banner_shows_the_url_the_seed_and_the_demo_credentials() -> None:
    text = banner(Settings(), 42, "127.0.0.1", 8000)
    assert "state:      in memory (memory://): gone when passbox stops" in text
    assert "passbox is running at http://127.0.0.1:8000" in text
    assert "--seed 42" in text
    assert "passbox-demo-client" in text and "passbox-demo-secret" in text
    assert "passbox-readonly-client" in text
    assert "/specs/seekpass.openapi.yaml" in text
    assert "WARNING" not in text


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::"])
def test_binding_beyond_loopback_warns(host: str) -> None:
    text = banner(Settings(), 1, host, 8000)
    assert "WARNING: bound to" in text
    assert "the control plane (/_sandbox/) is OPEN" in text
    protected = banner(Settings(admin_token="long-enough-token"), 1, host, 8000)
    assert "WARNING: bound to" in protected
    assert "is OPEN" not in protected
    assert "(needs the admin token)" in protected


def test_the_banner_lists_every_vendor_and_the_control_plane() -> None:
    text = banner(Settings(), 42, "127.0.0.1", 8000)
    assert "passbox-demo-key" in text
    assert "/auth/demo-widget" in text
    assert "/_sandbox/scenarios" in text
    assert "/specs/sandbox.openapi.yaml" in text


def test_bad_fixtures_are_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--store", "memory://", "--fixtures", str(tmp_path), "--seed", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("passbox: fixture file")
    assert "Traceback" not in err


def test_bad_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PASSBOX_TOKEN_TTL", "soon")
    assert main(["serve", "--store", "memory://"]) == 1
    assert "PASSBOX_TOKEN_TTL" in capsys.readouterr().err


def test_a_negative_journal_size_is_refused_and_zero_is_off(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--store", "memory://", "--journal-size", "-1"]) == 1
    assert "journal_size must be 0 (no journal) or more" in capsys.readouterr().err
    assert Settings(journal_size=0).journal_size == 0


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {"PASSBOX_SEED": "9", "PASSBOX_WEBHOOK_RETRY_SCHEDULE": "1, 2,3", "PASSBOX_INCOMPLETE_EVENT": "yes"},
        token_ttl=60,
    )
    assert settings.seed == 9
    assert settings.webhook_retry_schedule == (1.0, 2.0, 3.0)
    assert settings.incomplete_event is True
    assert settings.token_ttl == 60


def test_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "passbox", "serve", "--help"], capture_output=True, text=True, check=True
    )
    for flag in (
        "--host",
        "--port",
        "--seed",
        "--fixtures",
        "--public-url",
        "--token-ttl",
        "--admin-token",
        "--faults",
    ):
        assert flag in result.stdout


def test_python_m_sandbox_serves_with_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    """No --store: state goes to ./.passbox/passbox.db (created on first run), as the banner says."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "passbox", "--port", str(port), "--seed", "7", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    database = (tmp_path / ".passbox" / "passbox.db").resolve()
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"passbox is running at http://127.0.0.1:{port}")
        assert "seed 7" in first
        state = process.stdout.readline()
        assert f"state:      {database} (SQLite, kept across restarts; start fresh:" in state
        assert database.is_file()
        # The banner is printed once the socket is bound: the server is ready now.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            assert client.get("/health").json() == {"status": "ok"}
            assert client.get("/").json()["seed"] == 7
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


def test_bad_flags_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["requests", "--limit", "many"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "invalid int value: 'many'" in err and "passbox requests --help" in err


@pytest.mark.parametrize("command", ["serve", "trigger", "listen", "requests", "deliveries", "check-spec"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: passbox {command}" in capsys.readouterr().out


def test_check_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-spec"]) == 0
    out = capsys.readouterr().out
    assert "ok   " in out and "seekpass.openapi.yaml: OpenAPI 3.1.0, 12 operations, 3 webhooks" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.1.0\ninfo: {title: x}\npaths: {}\n")
    assert main(["check-spec", str(broken), str(tmp_path / "missing.yaml")]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["FAIL", "FAIL"]
    assert "version" in lines[0]


def test_serve_reload_starts_a_reloading_server() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "passbox",
            "serve",
            "--reload",
            "--port",
            str(port),
            "--seed",
            "9",
            "--store",
            "memory://",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # blocks until each line arrives; no polling
            seen.append(line)
            if "Application startup complete" in line:
                break
        assert any("passbox is running" in line for line in seen)
        assert any("reloader" in line.lower() for line in seen)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            assert client.get("/").json()["seed"] == 9
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()


def test_a_store_keeps_its_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    from passbox.app import create_app

    create_app(Settings(store_url=store, seed=5)).state.sandbox.core.store.close()
    assert main(["serve", "--store", store, "--seed", "6", "--port", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("passbox: the store ") and "was made with seed 5: pass --seed 5" in err
    assert len(err.strip().splitlines()) == 1


def test_workers_need_a_shared_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--store", "memory://", "--workers", "2"]) == 1
    assert "memory:// lives in one process" in capsys.readouterr().err


def test_a_bad_store_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--store", "redis://localhost"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("passbox: unknown store 'redis://localhost'")
    assert "Traceback" not in err


def test_postgres_passwords_stay_out_of_the_banner() -> None:
    text = banner(Settings(store_url="postgresql://passbox:hunter22@db.internal:5432/sandbox"), 1, "127.0.0.1", 80)
    assert "postgresql://db.internal:5432/sandbox (PostgreSQL, shared by every replica" in text
    assert "hunter22" not in text


def test_a_websocket_upgrade_is_answered_as_plain_http() -> None:
    """Neither vendor has a WebSocket endpoint, and serve loads no WebSocket protocol: an
    upgrade request gets the HTTP answer its method and path get, never a 101 or a 500."""
    from urllib.parse import urlsplit

    from tests.live.served import serve

    served = serve("memory://")
    try:
        port = urlsplit(served.url).port
        assert port is not None
        for path, status in (("/health", b"200"), ("/api/partner/v2/webhooks", b"401")):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
                )
                answer = sock.recv(65536)
            assert answer.split(b" ", 2)[1] == status, answer[:200]
        with served.client() as client:
            assert client.get("/health").json() == {"status": "ok"}
    finally:
        served.stop()
