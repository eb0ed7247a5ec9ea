"""passbox reset, clock, faults, redeliver, requests --follow, --version and serve's help and
busy-port error, against a real running sandbox; and the CLI suite run with SIGINT ignored."""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from passbox.app import create_app
from passbox.cli import build_parser, main
from passbox.settings import Settings, env_name
from tests.cli.test_remote import DEMO, partner_headers, passbox_process
from tests.helpers import free_port, live_server, receiver_server

pytestmark = pytest.mark.live

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def url() -> Iterator[str]:
    with live_server(create_app(Settings(seed=47))) as base:
        yield base


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``passbox ARGV`` in this process; its stdout (it must succeed)."""
    status = main(list(argv))
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.err == ""
    return captured.out


def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``passbox ARGV`` in this process; its one-line error (it must exit 1)."""
    assert main(list(argv)) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err.strip()


# -- --version, serve --help, a busy port ---------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"passbox {version('passbox')}\n"
    result = subprocess.run(
        [sys.executable, "-m", "passbox", "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == f"passbox {version('passbox')}"


def test_serve_help_lists_the_environment_variables() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "passbox", "serve", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    out = result.stdout
    assert "environment variables" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip().startswith("PASSBOX_")}
    assert "--store" in lines["PASSBOX_STORE"]
    assert "--admin-token" in lines["PASSBOX_ADMIN_TOKEN"]
    assert "PASSBOX_DATA_DIR" in lines
    assert "parsed specs" in lines["PASSBOX_CACHE_DIR"]
    for field in dataclasses.fields(Settings):
        if field.compare:
            assert env_name(field.name) in lines


def test_a_busy_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        err = fails(capsys, "serve", "--store", "memory://", "--seed", "1", "--port", str(port))
    assert err == f"passbox: port {port} is in use on 127.0.0.1: try --port {port + 1}"


def leaf_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    subcommands = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if not subcommands:
        yield path
    for action in subcommands:
        for name, child in action.choices.items():
            yield from leaf_commands(child, (*path, name))


def test_every_remote_command_has_help_for_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    leaves = [path for path in leaf_commands(build_parser()) if path[0] != "serve"]
    assert {("reset",), ("redeliver",), ("clock", "advance"), ("faults", "add"), ("faults", "remove")} <= set(leaves)
    for path in leaves:
        parser = build_parser()
        for name in path:
            parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
        for action in parser._actions:
            assert action.help, f"passbox {' '.join(path)}: {action.option_strings or action.dest} has no help"
        with pytest.raises(SystemExit) as info:
            main([*path, "--help"])
        assert info.value.code == 0
        assert f"usage: passbox {' '.join(path)}" in capsys.readouterr().out


# -- reset -----------------------------------------------------------------------------------------


def test_reset_everything_and_one_tenant(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "trigger", "seekpass", "verified", "--url", url)
    run(capsys, "trigger", "verifypass", "positive", "--url", url)
    with httpx.Client(base_url=url, trust_env=False) as client:

        def counts() -> tuple[int, int]:
            requests = client.get("/_sandbox/seekpass/requests", params={"client_id": "passbox-demo-client"})
            activity = client.get("/_sandbox/verifypass/activity", params={"account_id": "passbox-demo-account"})
            return len(requests.json()), len(activity.json())

        assert counts() == (1, 1)
        out = run(capsys, "reset", "--url", url, "--tenant", "seekpass:passbox-demo-client")
        assert out.startswith("Reset tenant seekpass:passbox-demo-client (its records")
        assert counts() == (0, 1)
        out = run(capsys, "reset", "--url", url)
        assert out.startswith("Reset everything (records, deliveries, timers, journal and faults) in ")
        assert out.rstrip().endswith(" ms.")
        assert counts() == (0, 0)
    assert json.loads(run(capsys, "reset", "--url", url, "--json"))["reset"] == "everything"
    err = fails(capsys, "reset", "--url", url, "--tenant", "seekpass:nobody")
    assert err == "passbox: POST /_sandbox/reset answered 404: No tenant 'seekpass:nobody'"


# -- clock -----------------------------------------------------------------------------------------


def clock_lines(out: str) -> dict[str, str]:
    return {line.split(None, 1)[0]: line.split(None, 1)[1] for line in out.splitlines()}


def test_clock_show_freeze_advance_release(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    shown = clock_lines(run(capsys, "clock", "show", "--url", url))
    assert shown["frozen"] == "no"
    assert shown["offset"] == "0s"
    assert shown["now"].endswith("Z")
    assert "ran" not in shown

    frozen = clock_lines(run(capsys, "clock", "freeze", "--url", url))
    assert frozen["frozen"] == "yes"
    assert clock_lines(run(capsys, "clock", "show", "--url", url))["now"] == frozen["now"]

    # A SEEK Pass request expires after 48 h, with its webhook: advancing runs that work.
    run(capsys, "trigger", "seekpass", "verified", "--url", url)
    with httpx.Client(base_url=url, trust_env=False) as client:
        created = client.post(
            "/api/partner/v2/verify/requests/digital_identity.json",
            headers=partner_headers(client),
            json={"request_id": "waits-1", "display_options": {"partner_name": "A"}},
        )
        assert created.status_code in (200, 201)
        advanced = clock_lines(run(capsys, "clock", "advance", "48h", "--url", url))
        assert advanced["frozen"] == "yes"
        assert advanced["now"][:10] > frozen["now"][:10]
        assert advanced["ran"].endswith(("scheduled job", "scheduled jobs"))
        assert int(advanced["ran"].split()[0]) >= 1
        expired = client.get("/api/partner/v2/verify/requests/waits-1", headers=partner_headers(client)).json()
        assert expired["status"] == "canceled"

    released = clock_lines(run(capsys, "clock", "release", "--url", url))
    assert released["frozen"] == "no"
    assert released["offset"] == "0s"
    unfrozen = clock_lines(run(capsys, "clock", "advance", "90m", "--url", url))
    assert unfrozen["offset"] == "+1h 30m"
    assert json.loads(run(capsys, "clock", "show", "--url", url, "--json"))["offset_seconds"] == 5400


def test_clock_arguments_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["clock", "advance", "two hours"], ["clock", "advance"], ["clock"], ["clock", "rewind"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "passbox clock" in err


# -- faults ----------------------------------------------------------------------------------------


def test_faults_add_list_remove_clear(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "faults", "list", "--url", url).startswith("No fault rules")
    out = run(capsys, "faults", "add", "--url", url, "--kind", "error", "--status", "503",
              "--operation", "getVerificationRequest", "--rate", "0.2")  # fmt: skip
    assert out.startswith("Added fault-1")
    assert "status 503" in out and "vendor=seekpass" in out and "operation=getVerificationRequest" in out
    assert "rate=0.2" in out
    out = run(capsys, "faults", "add", "--url", url, "--kind", "latency", "--vendor", "verifypass",
              "--latency-ms", "30", "--latency-max-ms", "120")  # fmt: skip
    assert out.startswith("Added fault-2") and "30-120 ms" in out and "vendor=verifypass" in out
    out = run(capsys, "faults", "add", "--url", url, "--kind", "rate_limit", "--operation", "createAccessToken",
              "--retry-after", "2", "--remaining", "1", "--json")  # fmt: skip
    rule = json.loads(out)
    assert (rule["id"], rule["kind"], rule["retry_after"], rule["remaining"]) == ("fault-3", "rate_limit", 2, 1)

    listed = run(capsys, "faults", "list", "--url", url).splitlines()
    assert [line.split()[0] for line in listed] == ["fault-1", "fault-2", "fault-3"]
    assert "429 Retry-After 2" in listed[2] and "remaining=1" in listed[2]

    # The rule is in force on vendor traffic: the next token request is rate limited, then it goes.
    with httpx.Client(base_url=url, trust_env=False) as client:
        limited = client.post("/api/partner/v1/oauth/token.json", data=DEMO)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        assert client.post("/api/partner/v1/oauth/token.json", data=DEMO).status_code == 200
    assert [line.split()[0] for line in run(capsys, "faults", "list", "--url", url).splitlines()] == [
        "fault-1",
        "fault-2",
    ]

    assert run(capsys, "faults", "remove", "fault-1", "--url", url) == "Removed fault-1.\n"
    assert run(capsys, "faults", "remove", "2", "--url", url) == "Removed fault-2.\n"
    err = fails(capsys, "faults", "remove", "fault-9", "--url", url)
    assert err == "passbox: DELETE /_sandbox/faults/fault-9 answered 404: No fault rule 'fault-9'"

    run(capsys, "faults", "add", "--url", url, "--kind", "cloudflare", "--operation", "openWidget")
    run(capsys, "faults", "add", "--url", url, "--kind", "error")
    assert run(capsys, "faults", "clear", "--url", url) == "Removed 2 fault rules.\n"
    assert run(capsys, "faults", "list", "--url", url).startswith("No fault rules")
    assert json.loads(run(capsys, "faults", "list", "--url", url, "--json")) == []


def test_a_bad_fault_is_the_servers_one_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = fails(capsys, "faults", "add", "--url", url, "--kind", "error", "--operation", "noSuchOperation")
    assert err.startswith("passbox: POST /_sandbox/faults answered 422: ")
    with pytest.raises(SystemExit):
        main(["faults", "add", "--url", url, "--kind", "meltdown"])
    assert "invalid choice: 'meltdown'" in capsys.readouterr().err


# -- redeliver -------------------------------------------------------------------------------------


def test_redeliver_by_full_id_prefix_and_errors(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with receiver_server(status=200) as (receiver, inbox), httpx.Client(base_url=url, trust_env=False) as client:
        client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook", json={"url": f"{receiver}/hook"})
        # 17 deliveries: two of them must share their first hex digit (an ambiguous prefix).
        for number in range(17):
            run(capsys, "trigger", "verifypass", "positive", "--url", url, "--uid", f"u-{number}")
        for _ in range(17):
            inbox.get(timeout=10)
        ids = [delivery["id"] for delivery in client.get("/_sandbox/deliveries").json()]
        assert len(ids) == 17

        # `passbox deliveries` prints what `passbox redeliver` takes.
        table = run(capsys, "deliveries", "--url", url, "--limit", "100").splitlines()
        printed = [line.split()[0] for line in table[1:]]
        assert printed == ids

        out = run(capsys, "redeliver", printed[0], "--url", url)
        assert out.startswith(f"Queued {ids[0]} again: verifypass verification -> {receiver}/hook")
        assert "(1 earlier attempt kept)" in out
        assert inbox.get(timeout=10).path == "/hook"

        prefix = ids[1][:8]
        assert [i for i in ids if i.startswith(prefix)] == [ids[1]]
        assert json.loads(run(capsys, "redeliver", prefix, "--url", url, "--json"))["id"] == ids[1]
        inbox.get(timeout=10)
        deadline = time.monotonic() + 10  # the attempt is recorded once the receiver has answered
        while len(client.get(f"/_sandbox/deliveries/{ids[1]}").json()["attempts"]) < 2:
            assert time.monotonic() < deadline, "the redelivery's attempt was never recorded"
            time.sleep(0.05)

        first, count = collections.Counter(i[0] for i in ids).most_common(1)[0]
        assert count >= 2
        err = fails(capsys, "redeliver", first, "--url", url)
        assert err == (
            f"passbox: '{first}' is ambiguous: {count} deliveries start with it; give more of the id "
            "(passbox deliveries lists them)"
        )
        err = fails(capsys, "redeliver", "zzzz", "--url", url)
        assert err == (
            "passbox: no delivery matches 'zzzz' (0 of the 17 newest deliveries start with it; "
            "passbox deliveries lists them)"
        )


# -- requests --follow -----------------------------------------------------------------------------


def test_requests_follow_prints_traffic_made_meanwhile(url: str) -> None:
    with httpx.Client(base_url=url, trust_env=False) as client:
        client.get("/api/v2/reporting", headers={"key": "before-we-started"})  # not printed: it is old
        with passbox_process("requests", "--url", url, "--follow", "--for", "2", "--interval", "0.2") as (
            process,
            output,
        ):
            assert output.line().startswith(f"Following the request journal of {url}. Press Ctrl-C to stop.")
            client.post("/api/partner/v1/oauth/token.json", data=DEMO)
            client.get("/api/v2/reporting", headers={"key": "wrong"})
            lines = output.rest(timeout=20)
            assert process.wait(timeout=20) == 0
    assert len(lines) == 2, lines
    assert lines[0].split()[1:4] == ["POST", "200", lines[0].split()[3]]
    assert "/api/partner/v1/oauth/token.json" in lines[0] and "createAccessToken" in lines[0]
    assert lines[1].split()[1:3] == ["GET", "401"] and "getActivity" in lines[1]


def test_requests_follow_json_and_filters(url: str) -> None:
    with (
        httpx.Client(base_url=url, trust_env=False) as client,
        passbox_process(
            "requests", "--url", url, "--follow", "--for", "2", "--interval", "0.2", "--status", "401", "--json"
        ) as (process, output),
    ):
        assert output.line().startswith(f"Following the request journal of {url} (--status 401).")
        client.post("/api/partner/v1/oauth/token.json", data=DEMO)
        client.get("/api/v2/reporting", headers={"key": "wrong"})
        lines = output.rest(timeout=20)
        assert process.wait(timeout=20) == 0
    [entry] = [json.loads(line) for line in lines]
    assert entry["status"] == 401 and entry["operation"] == "getActivity"


def test_requests_follow_stops_on_sigterm(url: str) -> None:
    with passbox_process("requests", "--url", url, "--follow") as (process, output):
        assert output.line().startswith("Following the request journal")
        process.send_signal(signal.SIGTERM)
        assert output.rest(timeout=20) == []
        assert process.wait(timeout=20) == 0


def test_requests_follow_goes_on_after_a_reset(url: str) -> None:
    with httpx.Client(base_url=url, trust_env=False) as client:
        for _ in range(3):
            client.get("/api/v2/reporting", headers={"key": "wrong"})
        with passbox_process("requests", "--url", url, "--follow", "--for", "3", "--interval", "0.2") as (
            process,
            output,
        ):
            output.line()
            client.post("/_sandbox/reset")  # journal ids start over
            client.post("/api/partner/v1/oauth/token.json", data=DEMO)
            lines = output.rest(timeout=20)
            assert process.wait(timeout=20) == 0
    assert len(lines) == 1 and "createAccessToken" in lines[0]


def test_for_needs_follow(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert fails(capsys, "requests", "--url", url, "--for", "2") == "passbox: --for needs --follow"


# -- errors and the admin token --------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["reset"], ["clock", "show"], ["clock", "advance", "1h"], ["faults", "list"], ["faults", "clear"],
     ["faults", "add", "--kind", "error"], ["faults", "remove", "fault-1"], ["redeliver", "abc"],
     ["requests", "--follow", "--for", "1"]],
)  # fmt: skip
def test_a_sandbox_that_is_not_running(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    err = fails(capsys, *command, "--url", nowhere)
    assert err.startswith(f"passbox: cannot reach the sandbox at {nowhere}")
    assert "`passbox serve`" in err


def test_the_admin_token_from_the_flag_or_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PASSBOX_ADMIN_TOKEN", raising=False)
    with live_server(create_app(Settings(seed=2, admin_token="control-admin-token"))) as base:
        err = fails(capsys, "clock", "show", "--url", base)
        assert "answered 401" in err and "pass --admin-token or set PASSBOX_ADMIN_TOKEN" in err
        assert "frozen    no" in run(capsys, "clock", "show", "--url", base, "--admin-token", "control-admin-token")
        monkeypatch.setenv("PASSBOX_ADMIN_TOKEN", "control-admin-token")
        run(capsys, "faults", "add", "--url", base, "--kind", "error")
        assert run(capsys, "faults", "list", "--url", base).startswith("fault-1")
        assert run(capsys, "reset", "--url", base).startswith("Reset everything")
        assert "no delivery matches 'abc' (0 of the 0 newest" in fails(capsys, "redeliver", "--url", base, "abc")


# -- the suite with SIGINT ignored -----------------------------------------------------------------


def test_the_listen_test_passes_with_sigint_ignored() -> None:
    """A suite started in the background from a script runs with SIGINT ignored, and so do the
    processes it starts: listen must be stopped some other way (SIGTERM), never hang."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/cli/test_remote.py", "-k", "listen"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
