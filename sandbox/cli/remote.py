"""The commands that drive a running sandbox over its public HTTP surface.

``trigger`` forces an outcome (like ``stripe trigger``), ``listen`` receives webhooks on a
local port and prints (and optionally forwards) each one (like ``stripe listen``),
``requests`` and ``deliveries`` print the journal and the outbox as tables.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import signal
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from sandbox.cli import DEFAULT_URL, CLIError
from sandbox.seekpass.signing import signature

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
    seekpass.add_argument("outcome", choices=["verified", "canceled", "expired"])
    seekpass.add_argument("request_id", nargs="?", help="an existing request (default: create one)")
    seekpass.add_argument("--client-id", default=DEMO_CLIENT[0])
    seekpass.add_argument("--client-secret", default=DEMO_CLIENT[1], help="to create a request (no REQUEST_ID)")
    seekpass.add_argument("--persona", help="verify as this persona")
    seekpass.add_argument("--document-type", choices=["passport", "drivers_licence"], default="passport")
    seekpass.add_argument("--callback-url", help="for a new request")
    common(seekpass)
    verifypass = vendors.add_parser(
        "verifypass",
        help="run a VerifyPass verification",
        description="Run a widget verification without the browser: the same record, code and webhook.",
    )
    verifypass.add_argument("outcome", choices=["positive", "negative"])
    verifypass.add_argument("--widget", default="demo-widget")
    verifypass.add_argument("--token", help="an applicant token")
    verifypass.add_argument("--uid")
    verifypass.add_argument("--community", help="a community short code, e.g. fir")
    verifypass.add_argument("--persona")
    verifypass.add_argument("--email")
    common(verifypass)

    listen = commands.add_parser(
        "listen",
        help="receive and print webhooks from a running sandbox",
        description="Register a local webhook receiver, print each delivery (and optionally forward it), "
        "and remove it again on Ctrl-C. Like stripe listen.",
    )
    listen.add_argument("--forward-to", help="also POST each delivery here; its status is the answer to the sandbox")
    listen.add_argument("--vendor", choices=["seekpass", "verifypass", "all"], default="all")
    listen.add_argument("--client-id", default=DEMO_CLIENT[0], help="SEEK Pass partner to listen for")
    listen.add_argument("--client-secret", default=DEMO_CLIENT[1])
    listen.add_argument("--account", default=DEMO_ACCOUNT[0], help="VerifyPass account to listen for")
    listen.add_argument("--api-key", default=DEMO_ACCOUNT[1], help="its API key (to check X-VFYPS-Key)")
    listen.add_argument("--host", default="127.0.0.1", help="where the receiver listens (default: 127.0.0.1)")
    listen.add_argument("--port", type=int, default=0, help="its port (default: any free one)")
    common(listen)

    requests = commands.add_parser("requests", help="the request journal", description="Print the request journal.")
    requests.add_argument("--vendor", choices=["seekpass", "verifypass"])
    requests.add_argument("--tenant")
    requests.add_argument("--status", type=int)
    requests.add_argument("--limit", type=int, default=30)
    common(requests)

    deliveries = commands.add_parser(
        "deliveries", help="the webhook outbox", description="Print webhook deliveries and their attempts."
    )
    deliveries.add_argument("--vendor", choices=["seekpass", "verifypass"])
    deliveries.add_argument("--status", choices=["pending", "delivered", "failed", "abandoned"])
    deliveries.add_argument("--limit", type=int, default=30)
    common(deliveries)


class Remote:
    """A running sandbox, reached over HTTP; every failure becomes one CLIError line."""

    def __init__(self, url: str, admin_token: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self._admin = headers
        self._http = httpx.Client(base_url=self.url, timeout=15, trust_env=False)

    def request(self, method: str, path: str, *, admin: bool = True, **kwargs: Any) -> Any:
        headers = {**(self._admin if admin else {}), **kwargs.pop("headers", {})}
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise CLIError(
                f"cannot reach the sandbox at {self.url} ({type(exc).__name__}); "
                "is it running? ./scripts/serve starts it"
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
    remote = Remote(args.url, args.admin_token)
    try:
        if args.command == "trigger":
            return trigger_seekpass(remote, args) if args.vendor == "seekpass" else trigger_verifypass(remote, args)
        if args.command == "listen":
            return listen(remote, args)
        if args.command == "requests":
            return show_requests(remote, args)
        return show_deliveries(remote, args)
    finally:
        remote.close()


# -- trigger ---------------------------------------------------------------------------------------


def trigger_seekpass(remote: Remote, args: argparse.Namespace) -> int:
    request_id = args.request_id
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
        try:
            response = self._http.post(self.forward_to, content=body, headers=passed)
        except httpx.HTTPError as exc:
            return 502, f"failed ({type(exc).__name__})"
        return response.status_code, f"[{response.status_code}]"

    def close(self) -> None:
        self._http.close()


def _stop(signum: int, frame: object) -> None:
    """SIGTERM (a supervisor, a test) stops as cleanly as Ctrl-C."""
    raise KeyboardInterrupt


def listen(remote: Remote, args: argparse.Namespace) -> int:
    listener = Listener(args.forward_to, args.api_key)

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
    undo: list[tuple[str, Any]] = []
    signal.signal(signal.SIGTERM, _stop)
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
    return 0


# -- tables ----------------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def show_requests(remote: Remote, args: argparse.Namespace) -> int:
    params = {k: str(v) for k, v in (("vendor", args.vendor), ("tenant", args.tenant), ("status", args.status)) if v}
    params["limit"] = str(args.limit)
    body = remote.request("GET", "/_sandbox/requests", params=params)
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    rows = [
        [
            entry["at"][11:19],
            entry["method"],
            str(entry["status"]),
            f"{entry['latency_ms']:.1f}",
            entry["path"] + (f"?{entry['query']}" if entry["query"] else ""),
            entry["operation"] or "-",
            entry["tenant"] or "-",
            entry["fault"] or "",
        ]
        for entry in body["entries"]
    ]
    print(table(["TIME", "METHOD", "STATUS", "MS", "PATH", "OPERATION", "TENANT", "FAULT"], rows))
    print(f"({len(rows)} of {body['size']} kept; the journal holds {body['capacity']})")
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
                delivery["id"][:8],
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
