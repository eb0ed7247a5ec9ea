"""passbox trigger, listen, requests, deliveries against a real running sandbox."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from passbox.app import create_app
from passbox.cli import main
from passbox.settings import Settings
from tests.helpers import free_port, live_server, receiver_server

pytestmark = pytest.mark.live

DEMO = {"grant_type": "client_credentials", "client_id": "passbox-demo-client", "client_secret": "passbox-demo-secret"}


class Output:
    """A child's output, read by a thread into a queue, so that every wait for a line is bounded
    (a plain readline would hang the suite if the child never printed or never ended)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self._stream = process.stdout
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), name="output", daemon=True)
        self._thread.start()
        self.seen: list[str] = []

    def _read(self, stream: Iterator[str]) -> None:
        try:
            for line in stream:
                self._lines.put(line.rstrip("\n"))
        finally:
            self._lines.put(None)

    def close(self) -> None:
        """Once the child has ended: let the reader see the end, then close the pipe (not while
        the reader is still in a read, which a grandchild holding the pipe could cause)."""
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._stream.close()

    def line(self, timeout: float = 20) -> str:
        """The next line; fails (never hangs) if none comes within ``timeout`` or output ended."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout}s; so far: {self.seen}") from None
        if line is None:
            self._lines.put(None)
            raise AssertionError(f"the output ended; it was: {self.seen}")
        self.seen.append(line)
        return line

    def until(self, found: Callable[[str], bool], timeout: float = 20) -> list[str]:
        """Lines up to and including the first that ``found`` accepts."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            lines.append(self.line(max(0.01, deadline - time.monotonic())))
            if found(lines[-1]):
                return lines

    def rest(self, timeout: float = 20) -> list[str]:
        """Every line until the output ends (the child exited or closed it)."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the output did not end within {timeout}s; so far: {self.seen}") from None
            if line is None:
                self._lines.put(None)
                return lines
            self.seen.append(line)
            lines.append(line)


@contextmanager
def passbox_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], Output]]:
    """``python -m passbox ARGS`` with its stdout and stderr read as one stream; killed (and
    reaped, with a timeout) on the way out if the test did not end it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "passbox", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = Output(process)
    try:
        yield process, output
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=20)
        output.close()


@pytest.fixture
def url() -> Iterator[str]:
    with live_server(create_app(Settings(seed=31))) as base:
        yield base


def partner_headers(client: httpx.Client) -> dict[str, str]:
    token = client.post("/api/partner/v1/oauth/token.json", data=DEMO).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_trigger_seekpass_creates_and_finishes_a_request(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trigger", "seekpass", "verified", "--url", url, "--persona", "jane-citizen",
                 "--document-type", "drivers_licence", "--callback-url", "https://p.example/cb"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "status    verified  as Jane Citizen" in out
    request_id = out.split()[1]
    assert f"redirect  https://p.example/cb?request_id={request_id}" in out
    with httpx.Client(base_url=url, trust_env=False) as client:
        result = client.get(f"/api/partner/v2/verify/requests/{request_id}", headers=partner_headers(client)).json()
    assert result["status"] == "verified"
    assert result["credential"]["document_number"] == "12345678"


@pytest.mark.parametrize(("outcome", "status"), [("canceled", "canceled"), ("expired", "canceled")])
def test_trigger_seekpass_on_an_existing_request(
    url: str, capsys: pytest.CaptureFixture[str], outcome: str, status: str
) -> None:
    with httpx.Client(base_url=url, trust_env=False) as client:
        client.post("/api/partner/v2/verify/requests/digital_identity.json", headers=partner_headers(client),
                    json={"request_id": "mine-1", "display_options": {"partner_name": "A"}})  # fmt: skip
    assert main(["trigger", "seekpass", outcome, "mine-1", "--url", url, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["request"]["status"] == status
    assert body["request"]["finished_via"] == ("expiry" if outcome == "expired" else "control")


def test_trigger_errors_are_one_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trigger", "seekpass", "verified", "no-such-request", "--url", url]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "passbox: POST /_sandbox/seekpass/requests/passbox-demo-client/no-such-request/complete answered 404: "
        "No verification request 'no-such-request' for client 'passbox-demo-client'"
    )


def test_trigger_verifypass(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["trigger", "verifypass", "positive", "--url", url, "--community", "fir", "--persona", "sam-responder"])
        == 0
    )
    out = capsys.readouterr().out
    assert "outcome   positive  (fir)" in out
    assert "applicant Sam Nguyen <sam.nguyen@personas.passbox.test>" in out
    assert "code      HEROES15" in out
    assert main(["trigger", "verifypass", "negative", "--url", url, "--widget", "other-widget", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outcome"] == "negative"


def test_requests_and_deliveries_tables(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with httpx.Client(base_url=url, trust_env=False) as client:
        client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook", json={"url": f"{url}/nowhere"})
        client.get("/api/v2/reporting", headers={"key": "wrong"})
    main(["trigger", "verifypass", "positive", "--url", url])
    capsys.readouterr()
    assert main(["requests", "--url", url, "--status", "401"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["TIME", "METHOD", "STATUS", "MS", "PATH", "OPERATION", "TENANT", "FAULT"]
    assert "GET" in out[1] and "401" in out[1] and "/api/v2/reporting" in out[1] and "getActivity" in out[1]
    assert out[-1].startswith("(1 of ")
    assert main(["deliveries", "--url", url, "--json"]) == 0
    [delivery] = json.loads(capsys.readouterr().out)
    assert delivery["vendor"] == "verifypass"
    assert main(["deliveries", "--url", url]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:5] == ["ID", "TIME", "VENDOR", "EVENT", "STATUS"]
    assert table[1].split()[0] == delivery["id"]  # whole, as passbox redeliver takes it


def test_a_sandbox_that_is_not_running(capsys: pytest.CaptureFixture[str]) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    for command in (["requests"], ["deliveries"], ["trigger", "verifypass", "positive"], ["listen"]):
        assert main([*command, "--url", nowhere]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"passbox: cannot reach the sandbox at {nowhere}")
        assert len(err.strip().splitlines()) == 1


def test_the_admin_token_is_passed_on(capsys: pytest.CaptureFixture[str]) -> None:
    with live_server(create_app(Settings(seed=1, admin_token="cli-admin-token"))) as base:
        assert main(["requests", "--url", base]) == 1
        err = capsys.readouterr().err
        assert "answered 401" in err and "pass --admin-token or set PASSBOX_ADMIN_TOKEN" in err
        assert main(["requests", "--url", base, "--admin-token", "cli-admin-token"]) == 0


def test_listen_prints_forwards_and_cleans_up(url: str) -> None:
    """Stopped with SIGTERM, which listen treats as Ctrl-C: SIGINT would be lost on a suite
    started with SIGINT ignored (in the background from a script), and the test would hang."""
    with (
        receiver_server(status=202) as (forward_url, inbox),
        passbox_process("listen", "--url", url, "--forward-to", f"{forward_url}/app") as (process, output),
    ):
        output.until(lambda line: line.startswith("Ready"))
        with httpx.Client(base_url=url, trust_env=False) as client:
            hooks = client.get("/api/partner/v2/webhooks", headers=partner_headers(client)).json()
            assert [hook["name"] for hook in hooks] == ["passbox listen"]
            client.post("/_sandbox/verifypass/verifications", json={"widget_key": "demo-widget", "uid": "u-7"})
        main_line = output.line()
        assert main_line.startswith("verifypass  verification")
        assert "key=valid" in main_line and "uid=u-7" in main_line
        assert main_line.endswith(f"-> {forward_url}/app [202]")
        forwarded = inbox.get(timeout=10)
        assert forwarded.path == "/app"
        assert forwarded.headers["x-vfyps-key"] == "passbox-demo-key"
        assert json.loads(forwarded.body)["data"][0]["uid"] == "u-7"
        main(["trigger", "seekpass", "verified", "--url", url])
        seekpass_line = output.line()
        assert seekpass_line.startswith("seekpass    vwsp_request.verified")
        assert "signature=valid" in seekpass_line
        process.send_signal(signal.SIGTERM)
        rest = output.rest(timeout=20)
        assert process.wait(timeout=20) == 0
    assert any(line.startswith("Removed the SEEK Pass webhook") for line in rest)
    assert "Restored the VerifyPass account webhook (none)." in rest
    with httpx.Client(base_url=url, trust_env=False) as client:
        assert client.get("/api/partner/v2/webhooks", headers=partner_headers(client)).json() == []
        assert client.get("/_sandbox/verifypass/accounts").json()[0]["webhook_url"] is None


def test_a_trigger_with_an_unknown_persona_creates_nothing(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with httpx.Client(base_url=url, trust_env=False) as client:
        before = client.get("/_sandbox/seekpass/requests").json()
    assert main(["trigger", "seekpass", "verified", "--persona", "nobody", "--url", url]) == 1
    err = capsys.readouterr().err
    assert "no persona 'nobody'" in err and len(err.strip().splitlines()) == 1
    with httpx.Client(base_url=url, trust_env=False) as client:
        assert client.get("/_sandbox/seekpass/requests").json() == before
