"""The commands that drive a running sandbox over its public HTTP surface.

``trigger`` forces an outcome (like ``stripe trigger``), ``listen`` receives webhooks on a
local port and prints (and optionally forwards) each one (like ``stripe listen``),
``requests`` and ``deliveries`` print the journal and the outbox as tables (``requests
--follow`` tails the journal, like ``stripe logs tail``), ``redeliver`` sends a delivery again,
and ``reset``, ``clock`` and ``faults`` drive the control plane. ``listen`` and ``requests
--follow`` stop as cleanly on SIGTERM as on Ctrl-C.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from passbox.cli import DEFAULT_URL, CLIError
from passbox.seekpass.signing import signature

if TYPE_CHECKING:  # imported when a command runs: `passbox serve` needs neither
    from http.server import ThreadingHTTPServer


DEMO_CLIENT = ("passbox-demo-client", "passbox-demo-secret")
DEMO_ACCOUNT = ("passbox-demo-account", "passbox-demo-key")


def add_commands(commands: Any) -> None:
    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--url", default=os.environ.get("PASSBOX_URL", DEFAULT_URL), help=f"the sandbox (default: {DEFAULT_URL})"
        )
        parser.add_argument(
            "--admin-token",
            default=os.environ.get("PASSBOX_ADMIN_TOKEN"),
            help="the sandbox's admin token, if it has one (default: $PASSBOX_ADMIN_TOKEN)",
        )
        parser.add_argument("--json", action="store_true", help="print the raw JSON instead of a summary")

    trigger = commands.add_parser(
        "trigger", help="force an outcome on a running sandbox", description="Force an outcome, like stripe trigger."
    )
    vendors = trigger.add_subparsers(dest="vendor", metavar="VENDOR", required=True)
    seekpass = vendors.add_parser(
        "seekpass",
        help="verify, cancel or expire a SEEK Pass request",
        description="Finish a SEEK Pass request (a new one when no REQUEST_ID is given): the same record, "
        "webhook and redirect as the hosted page.",
    )
    seekpass.add_argument("outcome", choices=["verified", "canceled", "expired"], help="how it ends")
    seekpass.add_argument("request_id", nargs="?", help="an existing request (default: create one)")
    seekpass.add_argument("--client-id", default=DEMO_CLIENT[0], help=f"the partner (default: {DEMO_CLIENT[0]})")
    seekpass.add_argument("--client-secret", default=DEMO_CLIENT[1], help="to create a request (no REQUEST_ID)")
    seekpass.add_argument("--persona", help="verify as this persona")
    seekpass.add_argument(
        "--document-type",
        choices=["passport", "drivers_licence"],
        default="passport",
        help="the document verified (default: passport)",
    )
    seekpass.add_argument("--callback-url", help="for a new request")
    common(seekpass)
    verifypass = vendors.add_parser(
        "verifypass",
        help="run a VerifyPass verification",
        description="Run a widget verification without the browser: the same record, code and webhook.",
    )
    verifypass.add_argument("outcome", choices=["positive", "negative"], help="the verification's outcome")
    verifypass.add_argument("--widget", default="demo-widget", help="the widget key (default: demo-widget)")
    verifypass.add_argument("--token", help="an applicant token")
    verifypass.add_argument("--uid", help="the partner's own id for the applicant")
    verifypass.add_argument("--community", help="a community short code, e.g. fir")
    verifypass.add_argument("--persona", help="verify as this persona (e.g. sam-responder)")
    verifypass.add_argument("--email", help="the applicant's e-mail (magic values work here)")
    common(verifypass)

    listen = commands.add_parser(
        "listen",
        help="receive and print webhooks from a running sandbox",
        description="Register a local webhook receiver, print each delivery (and optionally forward it), "
        "and remove it again on Ctrl-C. Like stripe listen.",
    )
    listen.add_argument("--forward-to", help="also POST each delivery here; its status is the answer to the sandbox")
    listen.add_argument(
        "--vendor", choices=["seekpass", "verifypass", "all"], default="all", help="whose webhooks (default: all)"
    )
    listen.add_argument("--client-id", default=DEMO_CLIENT[0], help="SEEK Pass partner to listen for")
    listen.add_argument("--client-secret", default=DEMO_CLIENT[1], help="its secret (to register the webhook)")
    listen.add_argument("--account", default=DEMO_ACCOUNT[0], help="VerifyPass account to listen for")
    listen.add_argument("--api-key", default=DEMO_ACCOUNT[1], help="its API key (to check X-VFYPS-Key)")
    listen.add_argument("--host", default="127.0.0.1", help="where the receiver listens (default: 127.0.0.1)")
    listen.add_argument("--port", type=int, default=0, help="its port (default: any free one)")
    common(listen)

    requests = commands.add_parser(
        "requests",
        help="the request journal (--follow to tail it)",
        description="Print the request journal, or with --follow print new entries as they arrive "
        "(like stripe logs tail) until Ctrl-C or SIGTERM.",
    )
    requests.add_argument("--vendor", choices=["seekpass", "verifypass"], help="only this vendor's requests")
    requests.add_argument("--tenant", help="only this tenant's, e.g. seekpass:passbox-demo-client")
    requests.add_argument("--status", type=int, help="only answers with this HTTP status")
    requests.add_argument("--limit", type=int, default=30, help="entries shown, newest first (default: 30)")
    requests.add_argument(
        "--follow", "-f", action="store_true", help="keep polling and print each new entry (--json: one per line)"
    )
    requests.add_argument(
        "--interval", type=positive_seconds, default=1.0, help="with --follow: seconds between polls (default: 1)"
    )
    requests.add_argument(
        "--for",
        dest="for_seconds",
        metavar="SECONDS",
        type=positive_seconds,
        help="with --follow: stop by itself after this many seconds (default: until Ctrl-C or SIGTERM)",
    )
    common(requests)

    deliveries = commands.add_parser(
        "deliveries",
        help="the webhook outbox",
        description="Print webhook deliveries and their attempts; the IDs are what passbox redeliver takes.",
    )
    deliveries.add_argument("--vendor", choices=["seekpass", "verifypass"], help="only this vendor's deliveries")
    deliveries.add_argument(
        "--status", choices=["pending", "delivered", "failed", "abandoned"], help="only deliveries in this state"
    )
    deliveries.add_argument("--limit", type=int, default=30, help="deliveries shown, newest first (default: 30)")
    common(deliveries)

    redeliver = commands.add_parser(
        "redeliver",
        help="send a webhook delivery again",
        description="Queue a delivery again with a fresh set of attempts (its history is kept). ID is a "
        "delivery id as passbox deliveries prints it, or any unambiguous prefix of one.",
    )
    redeliver.add_argument("delivery_id", metavar="ID", help="a delivery id, or an unambiguous prefix of one")
    common(redeliver)

    reset = commands.add_parser(
        "reset",
        help="return a running sandbox to its fixtures and seed",
        description="Reset everything (records, deliveries, timers, journal, faults), or only one tenant's "
        "records, deliveries, timers and journal entries. The clock is left as it is.",
    )
    reset.add_argument(
        "--tenant", help="only this tenant: seekpass:<client_id> or verifypass:<account_id> (default: everything)"
    )
    common(reset)

    clock = commands.add_parser(
        "clock",
        help="show, freeze, release or advance the sandbox clock",
        description="The sandbox's one clock. Advancing it makes everything time-dependent happen (token "
        "and request expiry, webhook retries) before the answer.",
    )
    actions = clock.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (
        ("show", "print the clock"),
        ("freeze", "stop the clock at the current instant"),
        ("release", "return to real time (unfreeze and drop any offset)"),
    ):
        common(actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + "."))
    advance = actions.add_parser(
        "advance", help="move the clock forward", description="Move the clock forward, frozen or not."
    )
    advance.add_argument("by", metavar="BY", type=duration, help="how far: a number and s, m, h or d (2h, 48h, 7d)")
    common(advance)

    faults = commands.add_parser(
        "faults",
        help="list, add or remove fault rules on vendor traffic",
        description="Fault rules make vendor requests slow, fail, or be rate limited (never the control plane).",
    )
    fault_actions = faults.add_subparsers(dest="action", metavar="ACTION", required=True)
    common(fault_actions.add_parser("list", help="print the rules in force", description="Print the fault rules."))
    add = fault_actions.add_parser(
        "add",
        help="add a rule",
        description="Add a fault rule: latency (--latency-ms, up to --latency-max-ms), error (--status), "
        "rate_limit (429 with Retry-After) or cloudflare (a Cloudflare 429 block page).",
    )
    add.add_argument("--kind", required=True, choices=FAULT_KINDS, help="what the rule does")
    add.add_argument("--vendor", choices=["*", "seekpass", "verifypass"], help="which vendor's traffic (default: *)")
    add.add_argument(
        "--operation",
        help="an operationId such as getVerificationRequest or openWidget (default: *; implies its vendor)",
    )
    add.add_argument("--status", type=int, help="for error: the HTTP status answered (default: 500)")
    add.add_argument("--rate", type=float, help="probability that a matching request is hit, 0 to 1 (default: 1)")
    add.add_argument("--latency-ms", type=float, help="for latency: milliseconds added (default: 0)")
    add.add_argument("--latency-max-ms", type=float, help="for latency: a random delay up to this many ms")
    add.add_argument("--retry-after", type=int, help="for rate_limit: the Retry-After seconds (default: 1)")
    add.add_argument("--remaining", type=int, help="only the next N matching requests, then the rule goes")
    common(add)
    remove = fault_actions.add_parser("remove", help="remove one rule", description="Remove one fault rule.")
    remove.add_argument("fault_id", metavar="ID", help="the rule's id as faults list prints it (fault-1, or 1)")
    common(remove)
    common(fault_actions.add_parser("clear", help="remove every rule", description="Remove every fault rule."))


FAULT_KINDS = ["latency", "error", "rate_limit", "cloudflare"]
FAULT_OPTIONS = ("vendor", "operation", "status", "rate", "latency_ms", "latency_max_ms", "retry_after", "remaining")


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def duration(text: str) -> str:
    """A clock advance as the control plane takes it: 90s, 15m, 48h, 7d."""
    if re.fullmatch(r"[0-9]{1,6}[smhd]", text) is None:
        raise argparse.ArgumentTypeError(f"expected a number and a unit (s, m, h or d), such as 48h, not {text!r}")
    return text


class Remote:
    """A running sandbox, reached over HTTP; every failure becomes one CLIError line."""

    def __init__(self, url: str, admin_token: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self._admin = headers
        import httpx

        self._http = httpx.Client(base_url=self.url, timeout=15, trust_env=False)

    def request(self, method: str, path: str, *, admin: bool = True, **kwargs: Any) -> Any:
        import httpx

        headers = {**(self._admin if admin else {}), **kwargs.pop("headers", {})}
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise CLIError(
                f"cannot reach the sandbox at {self.url} ({type(exc).__name__}); "
                "is it running? start one with `passbox serve` (or pass --url)"
            ) from exc
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_error:
            detail = (
                body.get("message") or body.get("error_description") or body.get("error")
                if isinstance(body, dict)
                else None
            )
            if response.status_code == 401 and path.startswith("/_sandbox"):
                detail = f"{detail} (pass --admin-token or set PASSBOX_ADMIN_TOKEN)"
            raise CLIError(f"{method} {path} answered {response.status_code}: {detail or response.reason_phrase}")
        return body

    def token(self, client_id: str, secret: str) -> dict[str, str]:
        body = self.request(
            "POST",
            "/api/partner/v1/oauth/token.json",
            admin=False,
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
        return {"Authorization": f"Bearer {body['access_token']}"}

    def close(self) -> None:
        self._http.close()


def run(args: argparse.Namespace) -> int:
    commands: dict[str, Any] = {
        "listen": listen,
        "requests": show_requests,
        "deliveries": show_deliveries,
        "redeliver": redeliver,
        "reset": reset,
        "clock": clock,
        "faults": faults,
    }
    remote = Remote(args.url, args.admin_token)
    try:
        if args.command == "trigger":
            return trigger_seekpass(remote, args) if args.vendor == "seekpass" else trigger_verifypass(remote, args)
        result: int = commands[args.command](remote, args)
        return result
    finally:
        remote.close()


# -- trigger ---------------------------------------------------------------------------------------


def trigger_seekpass(remote: Remote, args: argparse.Namespace) -> int:
    request_id = args.request_id
    if args.persona:  # check before creating anything: a refused trigger leaves nothing behind
        known = [person["key"] for person in remote.request("GET", "/_sandbox/scenarios")["personas"]]
        if args.persona not in known:
            raise CLIError(f"no persona {args.persona!r}: choose one of {', '.join(known)}")
    if request_id is None:
        body: dict[str, Any] = {"display_options": {"partner_name": "passbox trigger"}}
        if args.callback_url:
            body["callback_url"] = args.callback_url
        created = remote.request(
            "POST",
            "/api/partner/v2/verify/requests/digital_identity.json",
            admin=False,
            json=body,
            headers=remote.token(args.client_id, args.client_secret),
        )
        request_id = created["request_id"]
    action = {"verified": "complete", "canceled": "cancel", "expired": "expire"}[args.outcome]
    options = {"document_type": args.document_type, **({"persona": args.persona} if args.persona else {})}
    result = remote.request(
        "POST",
        f"/_sandbox/seekpass/requests/{quote(args.client_id, safe='')}/{quote(request_id, safe='')}/{action}",
        json=options if action == "complete" else None,
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    request = result["request"]
    credential = request.get("credential") or {}
    print(f"request   {request['request_id']}  ({request['client_id']})")
    print(f"status    {request['status']}" + (f"  as {credential['full_name']}" if credential else ""))
    print(f"redirect  {result['redirect_to'] or '-'}")
    print(f"webhooks  {len(result['deliveries'])} queued")
    return 0


def trigger_verifypass(remote: Remote, args: argparse.Namespace) -> int:
    body = {"widget_key": args.widget, "outcome": args.outcome}
    for name in ("token", "uid", "community", "persona", "email"):
        if getattr(args, name):
            body[name] = getattr(args, name)
    result = remote.request("POST", "/_sandbox/verifypass/verifications", json=body)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    activity = result.get("activity") or {}
    print(f"outcome   {result['outcome']}" + (f"  ({activity.get('community_key')})" if activity else ""))
    if activity:
        print(f"applicant {activity['first_name']} {activity['last_name']} <{activity['email']}>")
    print(
        f"code      {result['code'] or '-'}"
        + ("  (same as before: returning applicant)" if result["returning"] else "")
    )
    print(f"webhooks  {len(result['deliveries'])} queued")
    return 0


# -- listen ----------------------------------------------------------------------------------------


class Listener:
    """Receives deliveries, checks them, prints a line each, and optionally forwards them."""

    def __init__(self, forward_to: str | None, api_key: str) -> None:
        self.forward_to = forward_to
        self.api_key = api_key
        self.secret: str | None = None
        self._print_lock = threading.Lock()
        import httpx

        self._http = httpx.Client(timeout=10, trust_env=False)

    def say(self, line: str) -> None:
        with self._print_lock:
            print(line, flush=True)

    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> int:
        if path == "/seekpass":
            description = self._seekpass(headers, body)
        elif path == "/verifypass":
            description = self._verifypass(headers, body)
        else:
            return 404
        status = 200
        if self.forward_to:
            status, note = self._forward(headers, body)
            description += f"  -> {self.forward_to} {note}"
        self.say(description)
        return status

    def _seekpass(self, headers: Mapping[str, str], body: bytes) -> str:
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        valid = False
        if self.secret and headers.get("x-timestamp") and headers.get("x-signature"):
            expected = signature(self.secret, headers["x-timestamp"], body)
            valid = hmac.compare_digest(expected, headers["x-signature"])
        return (
            f"seekpass    {event.get('type', '?'):<24} request_id={event.get('request_id', '?')}  "
            f"event_id={event.get('event_id', '?')}  signature={'valid' if valid else 'INVALID'}"
        )

    def _verifypass(self, headers: Mapping[str, str], body: bytes) -> str:
        try:
            record = json.loads(body)["data"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            record = {}
        valid = hmac.compare_digest(headers.get("x-vfyps-key", "").encode(), self.api_key.encode())
        return (
            f"verifypass  verification             {record.get('email', '?')} as {record.get('group_short', '?')}  "
            f"code={record.get('discount_code', '-')}  uid={record.get('uid', '-')}  "
            f"key={'valid' if valid else 'INVALID'}"
        )

    def _forward(self, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        assert self.forward_to is not None
        passed = {k: v for k, v in headers.items() if k not in ("host", "content-length", "connection")}
        import httpx

        try:
            response = self._http.post(self.forward_to, content=body, headers=passed)
        except httpx.HTTPError as exc:
            return 502, f"failed ({type(exc).__name__})"
        return response.status_code, f"[{response.status_code}]"

    def close(self) -> None:
        self._http.close()


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM (a supervisor, a test, or a shell that started us with SIGINT ignored) stops as
    cleanly as Ctrl-C: both raise KeyboardInterrupt in the main thread. The previous handler
    comes back afterwards (the command may run inside another program, such as a test)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def listen(remote: Remote, args: argparse.Namespace) -> int:
    listener = Listener(args.forward_to, args.api_key)

    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            status = listener.handle(urlsplit(self.path).path, headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    try:
        server = ThreadingHTTPServer((args.host, args.port), Handler)
    except OSError as exc:
        raise CLIError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{shown_host}:{server.server_address[1]}"
    with stop_on_sigterm():
        _register_and_serve(remote, args, server, listener, base)
    return 0


def _register_and_serve(
    remote: Remote, args: argparse.Namespace, server: ThreadingHTTPServer, listener: Listener, base: str
) -> None:
    """Register the receiver, serve until Ctrl-C or SIGTERM, then undo every registration."""
    undo: list[tuple[str, Any]] = []
    try:
        if args.vendor in ("seekpass", "all"):
            headers = remote.token(args.client_id, args.client_secret)
            hook = remote.request(
                "POST",
                "/api/partner/v2/webhooks",
                admin=False,
                headers=headers,
                json={"url": f"{base}/seekpass", "name": "passbox listen", "description": "removed on exit"},
            )
            listener.secret = hook["secret"]
            undo.append(("seekpass", hook["id"]))
            listener.say(f"SEEK Pass   webhook {hook['id']} for {args.client_id} -> {base}/seekpass")
        if args.vendor in ("verifypass", "all"):
            accounts = remote.request("GET", "/_sandbox/verifypass/accounts")
            account = next((a for a in accounts if a["id"] == args.account), None)
            if account is None:
                raise CLIError(f"no VerifyPass account {args.account!r} in the sandbox")
            remote.request(
                "PUT", f"/_sandbox/verifypass/accounts/{args.account}/webhook", json={"url": f"{base}/verifypass"}
            )
            undo.append(("verifypass", account["webhook_url"]))
            listener.say(f"VerifyPass  account {args.account} webhook -> {base}/verifypass")
        forward = f"; forwarding to {args.forward_to}" if args.forward_to else ""
        listener.say(f"Ready: listening on {base}{forward}. Press Ctrl-C to stop.")
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        listener.close()
        for kind, value in reversed(undo):
            try:
                if kind == "seekpass":
                    headers = remote.token(args.client_id, args.client_secret)
                    remote.request("DELETE", f"/api/partner/v2/webhooks/{value}", admin=False, headers=headers)
                    listener.say(f"Removed the SEEK Pass webhook {value}.")
                else:
                    remote.request("PUT", f"/_sandbox/verifypass/accounts/{args.account}/webhook", json={"url": value})
                    listener.say(f"Restored the VerifyPass account webhook ({value or 'none'}).")
            except CLIError as exc:
                print(f"passbox: could not undo {kind}: {exc}", file=sys.stderr)


# -- tables ----------------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def journal_params(args: argparse.Namespace) -> dict[str, str]:
    return {k: str(v) for k, v in (("vendor", args.vendor), ("tenant", args.tenant), ("status", args.status)) if v}


def journal_row(entry: Mapping[str, Any]) -> list[str]:
    return [
        entry["at"][11:19],
        entry["method"],
        str(entry["status"]),
        f"{entry['latency_ms']:.1f}",
        entry["path"] + (f"?{entry['query']}" if entry["query"] else ""),
        entry["operation"] or "-",
        entry["tenant"] or "-",
        entry["fault"] or "",
    ]


def show_requests(remote: Remote, args: argparse.Namespace) -> int:
    if args.follow:
        return follow_requests(remote, args)
    if args.for_seconds is not None:
        raise CLIError("--for needs --follow")
    params = {**journal_params(args), "limit": str(args.limit)}
    body = remote.request("GET", "/_sandbox/requests", params=params)
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    rows = [journal_row(entry) for entry in body["entries"]]
    print(table(["TIME", "METHOD", "STATUS", "MS", "PATH", "OPERATION", "TENANT", "FAULT"], rows))
    print(f"({len(rows)} of {body['size']} kept; the journal holds {body['capacity']})")
    return 0


FOLLOW_PAGE = 100  # entries asked for per poll; up to the control plane's 1000 when more arrived


def follow_requests(remote: Remote, args: argparse.Namespace) -> int:
    """Print each new journal entry, oldest first, until Ctrl-C, SIGTERM or --for seconds.

    Entry ids only grow (a full reset starts them over, which shows as a newest id below the
    last one seen). Only entries newer than the start are printed, as stripe logs tail does.
    """
    params = journal_params(args)
    deadline = None if args.for_seconds is None else time.monotonic() + args.for_seconds

    def poll(limit: int) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = remote.request(
            "GET", "/_sandbox/requests", params={**params, "limit": str(limit)}
        )["entries"]
        return entries  # newest first

    with stop_on_sigterm():
        try:
            last = max((entry["id"] for entry in poll(1)), default=0)
            shown = " ".join(f"--{key} {value}" for key, value in params.items())
            print(
                f"Following the request journal of {remote.url}" + (f" ({shown})" if shown else "") + ". "
                "Press Ctrl-C to stop.",
                file=sys.stderr,
                flush=True,
            )
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                time.sleep(args.interval if remaining is None else max(0.0, min(args.interval, remaining)))
                entries = poll(FOLLOW_PAGE)
                if entries and entries[0]["id"] < last:
                    last = 0  # the journal was reset: ids start over
                if len(entries) == FOLLOW_PAGE and entries[-1]["id"] > last:
                    entries = poll(1000)  # more arrived than a page: catch up
                fresh = [entry for entry in reversed(entries) if entry["id"] > last]
                for entry in fresh:
                    print(json.dumps(entry) if args.json else "  ".join(journal_row(entry)).rstrip())
                if fresh:
                    last = fresh[-1]["id"]
                    sys.stdout.flush()
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except KeyboardInterrupt:
            pass
    return 0


def show_deliveries(remote: Remote, args: argparse.Namespace) -> int:
    params = {k: str(v) for k, v in (("vendor", args.vendor), ("status", args.status)) if v}
    params["limit"] = str(args.limit)
    body = remote.request("GET", "/_sandbox/deliveries", params=params)
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    rows = []
    for delivery in body:
        last = delivery["attempts"][-1] if delivery["attempts"] else None
        outcome = "-" if last is None else str(last["status_code"] or last["error"])
        rows.append(
            [
                delivery["id"],  # whole: what passbox redeliver takes (so does any unambiguous prefix)
                delivery["created_at"][11:19],
                delivery["vendor"],
                delivery["event_type"],
                delivery["status"],
                str(len(delivery["attempts"])),
                outcome[:40],
                delivery["url"],
            ]
        )
    print(table(["ID", "TIME", "VENDOR", "EVENT", "STATUS", "ATTEMPTS", "LAST", "URL"], rows))
    return 0


# -- redeliver, reset, clock, faults ----------------------------------------------------------------


REDELIVER_SCAN = 1000  # the newest deliveries a prefix is matched against (the control plane's page limit)


def redeliver(remote: Remote, args: argparse.Namespace) -> int:
    wanted = args.delivery_id.strip()
    if not wanted:
        raise CLIError("give a delivery id (passbox deliveries lists them)")
    known = remote.request("GET", "/_sandbox/deliveries", params={"limit": str(REDELIVER_SCAN)})
    ids = [delivery["id"] for delivery in known]
    matches = [wanted] if wanted in ids else [i for i in ids if i.startswith(wanted)]
    if not matches and len(ids) == REDELIVER_SCAN:
        matches = [wanted]  # perhaps the whole id of an older delivery: the sandbox will say
    if len(matches) > 1:
        raise CLIError(
            f"{wanted!r} is ambiguous: {len(matches)} deliveries start with it; give more of the id "
            "(passbox deliveries lists them)"
        )
    if not matches:
        raise CLIError(
            f"no delivery matches {wanted!r} (0 of the {len(ids)} newest deliveries start with it; "
            "passbox deliveries lists them)"
        )
    again = remote.request("POST", f"/_sandbox/deliveries/{quote(matches[0], safe='')}/redeliver")
    if args.json:
        print(json.dumps(again, indent=2))
        return 0
    print(f"Queued {again['id']} again: {again['vendor']} {again['event_type']} -> {again['url']}")
    kept = len(again["attempts"])
    print(f"status    {again['status']}  ({kept} earlier attempt{'' if kept == 1 else 's'} kept)")
    return 0


def reset(remote: Remote, args: argparse.Namespace) -> int:
    result = remote.request("POST", "/_sandbox/reset", json={"tenant": args.tenant} if args.tenant else None)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    what = (
        "everything (records, deliveries, timers, journal and faults)"
        if result["reset"] == "everything"
        else f"tenant {result['reset']} (its records, deliveries, timers and journal entries)"
    )
    print(f"Reset {what} in {result['took_ms']:g} ms.")
    return 0


def format_offset(seconds: float) -> str:
    """+2d 3h 4m 5s, -30m, 0s: how far the clock is from real time."""
    sign = "-" if seconds < 0 else "+"
    left = abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{int(count)}{unit}")
    if round(left, 3) or not parts:
        parts.append(f"{round(left, 3):g}s")
    text = " ".join(parts)
    return text if text == "0s" else sign + text


def clock(remote: Remote, args: argparse.Namespace) -> int:
    if args.action == "show":
        state = remote.request("GET", "/_sandbox/clock")
    else:
        change = {"action": args.action, **({"by": args.by} if args.action == "advance" else {})}
        state = remote.request("POST", "/_sandbox/clock", json=change)
    if args.json:
        print(json.dumps(state, indent=2))
        return 0
    print(f"now       {state['now']}")
    print(f"frozen    {'yes' if state['frozen'] else 'no'}")
    print(f"offset    {format_offset(state['offset_seconds'])}")
    if "ran" in state:
        print(f"ran       {state['ran']} scheduled job{'' if state['ran'] == 1 else 's'}")
    return 0


def describe_fault(rule: Mapping[str, Any]) -> str:
    kind = rule["kind"]
    if kind == "latency":
        high = rule["latency_max_ms"]
        effect = f"{rule['latency_ms']:g}" + (f"-{high:g}" if high is not None else "") + " ms"
    elif kind == "error":
        effect = f"status {rule['status']}"
    elif kind == "rate_limit":
        effect = f"429 Retry-After {rule['retry_after']}"
    else:
        effect = "429 block page"
    remaining = "" if rule["remaining"] is None else f"  remaining={rule['remaining']}"
    return (
        f"{rule['id']:<10} {kind:<11} {effect:<20} vendor={rule['vendor']}  operation={rule['operation']}  "
        f"rate={rule['rate']:g}{remaining}  matched={rule['matched']}  fired={rule['fired']}"
    )


def faults(remote: Remote, args: argparse.Namespace) -> int:
    if args.action == "add":
        body: dict[str, Any] = {"kind": args.kind}
        body.update({name: getattr(args, name) for name in FAULT_OPTIONS if getattr(args, name) is not None})
        rule = remote.request("POST", "/_sandbox/faults", json=body)
        print(json.dumps(rule, indent=2) if args.json else f"Added {describe_fault(rule)}")
        return 0
    if args.action == "remove":
        fault_id = f"fault-{args.fault_id}" if args.fault_id.isdigit() else args.fault_id
        remote.request("DELETE", f"/_sandbox/faults/{quote(fault_id, safe='')}")
        print(json.dumps({"removed": fault_id}) if args.json else f"Removed {fault_id}.")
        return 0
    rules = remote.request("GET", "/_sandbox/faults")
    if args.action == "clear":
        remote.request("DELETE", "/_sandbox/faults")
        count = len(rules)
        print(
            json.dumps({"removed": [rule["id"] for rule in rules]})
            if args.json
            else f"Removed {count} fault rule{'' if count == 1 else 's'}."
        )
        return 0
    if args.json:
        print(json.dumps(rules, indent=2))
    elif not rules:
        print("No fault rules (passbox faults add --kind ... adds one).")
    else:
        for rule in rules:
            print(describe_fault(rule))
    return 0
