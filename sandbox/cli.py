"""The ``passbox`` command. Imported by nothing."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.settings import Settings, _parse_schedule


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passbox",
        description="A local sandbox of the SEEK Pass and VerifyPass identity-verification APIs.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="start the sandbox (the default command)")
    add_serve_arguments(serve)
    return parser


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default: 8000)")
    parser.add_argument("--seed", type=int, help="seed for ids, tokens, people and secrets (default: random)")
    parser.add_argument("--fixtures", type=Path, help="directory of fixture files (default: the bundled ones)")
    parser.add_argument("--public-url", help="base URL used in redirect URIs and pages (default: the request's)")
    parser.add_argument("--token-ttl", type=int, help="SEEK Pass access-token lifetime in seconds (default: 7200)")
    parser.add_argument("--request-ttl", type=int, help="SEEK Pass request expiry in seconds (default: 172800)")
    parser.add_argument(
        "--retry-schedule",
        type=_parse_schedule,
        help="webhook retry delays in seconds, comma-separated (default: 1,10,60,300)",
    )
    parser.add_argument(
        "--time-compression", type=float, help="divide webhook retry delays by this factor (default: 1)"
    )
    parser.add_argument(
        "--incomplete-event",
        action="store_true",
        default=None,
        help="also send vwsp_request.incomplete when a user opens a SEEK Pass link",
    )
    parser.add_argument("--admin-token", help="require Authorization: Bearer <token> on the /_sandbox/ control plane")
    parser.add_argument("--faults", type=Path, help="YAML file of fault rules to start with (see the README)")
    parser.add_argument("--journal-size", type=int, help="requests kept in the journal (default: 1000)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def banner(settings: Settings, seed: int, host: str, port: int) -> str:
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}"
    lines = [
        f"passbox is running at {url}   (seed {seed}; replay with --seed {seed})",
        "",
        "SEEK Pass",
        f"  token:      POST {url}/api/partner/v1/oauth/token.json",
        "  partner:    client_id passbox-demo-client      client_secret passbox-demo-secret",
        "              scopes write.digital_identity read.digital_identity",
        "  read-only:  client_id passbox-readonly-client  client_secret passbox-readonly-secret",
        f"  spec:       {url}/specs/seekpass.openapi.yaml",
        "",
        "VerifyPass",
        f"  token:      POST {url}/api/v2/token   (header key: passbox-demo-key)",
        f"  widgets:    {url}/auth/demo-widget  demo-token-only  demo-private  demo-unique-codes",
        f"  spec:       {url}/specs/verifypass.openapi.yaml",
        "",
        "Control plane",
        f"  {url}/_sandbox/scenarios  clock  faults  requests  deliveries  reset",
        f"  spec:       {url}/specs/sandbox.openapi.yaml"
        + ("   (needs the admin token)" if settings.admin_token else ""),
        f"  fixtures:   {settings.fixtures_dir}",
    ]
    if not _is_loopback(host):
        lines += ["", f"WARNING: bound to {host}: anyone who can reach this address can use the sandbox."]
        if not settings.admin_token:
            lines += [
                "WARNING: " + "!" * 70,
                "WARNING: the control plane (/_sandbox/) is OPEN: anyone on the network can reset it, move",
                "WARNING: its clock and inject faults. Start with --admin-token <secret> to protect it.",
                "WARNING: " + "!" * 70,
            ]
    return "\n".join(lines)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sandbox.app import create_app
    from sandbox.core.fixtures import FixtureError

    try:
        settings = Settings.from_env(
            seed=args.seed,
            fixtures_dir=args.fixtures,
            public_url=args.public_url,
            token_ttl=args.token_ttl,
            request_ttl=args.request_ttl,
            webhook_retry_schedule=args.retry_schedule,
            time_compression=args.time_compression,
            incomplete_event=args.incomplete_event,
            admin_token=args.admin_token,
            faults_file=args.faults,
            journal_size=args.journal_size,
        )
        app = create_app(settings)
    except (FixtureError, ValueError) as exc:
        print(f"passbox: {exc}", file=sys.stderr)
        return 2
    text = banner(settings, app.state.sandbox.seed, args.host, args.port)
    if not _is_loopback(args.host) and not settings.admin_token:
        # Loudly, on stderr too, where process supervisors look.
        print(f"passbox: WARNING: {args.host} is not loopback and there is no --admin-token", file=sys.stderr)

    class Server(uvicorn.Server):
        # The banner is printed once the socket is bound, so it also means "ready".
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                print(text, flush=True)

    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level, proxy_headers=False)
    Server(config).run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `passbox` alone, or `passbox --port 9000`, means `passbox serve ...`.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["serve", *argv]
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    parser.print_help()
    return 2
