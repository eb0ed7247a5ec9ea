"""The ``passbox`` command. Imported by nothing.

``serve`` starts a sandbox; ``trigger``, ``listen``, ``requests``, ``deliveries``,
``redeliver``, ``reset``, ``clock`` and ``faults`` drive a running one over HTTP (``--url``,
default http://127.0.0.1:8000); ``check-spec`` validates the bundled specs. Every error is one
line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import ipaddress
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

from passbox.settings import Settings, _parse_schedule, env_name

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_DATA_DIR = Path(".passbox")


class CLIError(Exception):
    """A failure to report as one line (exit status 1)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def package_version() -> str:
    """The installed distribution's version, else the one in the checkout's pyproject.toml."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("passbox")
    except PackageNotFoundError:
        import tomllib

        try:
            with (Path(__file__).resolve().parents[2] / "pyproject.toml").open("rb") as file:
                return str(tomllib.load(file)["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


class VersionAction(argparse.Action):
    """``--version``: the version is looked up when asked for (importlib.metadata reads every
    installed distribution, about 10 ms that no other command should pay at start-up)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        sys.stdout.write(f"passbox {package_version()}\n")
        parser.exit()


def environment_epilog() -> str:
    """The PASSBOX_* variables serve reads (flags win over them), from the Settings fields."""
    flags = {field: "--" + flag.replace("_", "-") for flag, field in SERVE_FLAGS.items()}
    defaults = {
        "store_url": "SQLite in --data-dir",
        "fixtures_dir": "the bundled ones",
        "applicant_token_ttl": "never",
        "seed": "random, then kept in the store",
        "secret_key": "random, then kept in the store",
    }
    rows = []
    for field in dataclasses.fields(Settings):
        if not field.compare:  # injected collaborators (clock, transport, error hook) have no variable
            continue
        default = defaults.get(field.name)
        if default is None and field.default is not dataclasses.MISSING and field.default is not None:
            default = _env_value(field.default)
        rows.append((env_name(field.name), flags.get(field.name, ""), f"default: {default}" if default else ""))
    rows.append(("PASSBOX_DATA_DIR", "--data-dir", f"default: ./{DEFAULT_DATA_DIR}/"))
    rows.append(("PASSBOX_CACHE_DIR", "", "default: ~/.cache/passbox/ (parsed specs and fixtures)"))
    width = max(len(name) for name, _, _ in rows)
    lines = ["environment variables (a flag given wins over its variable):"]
    lines += [f"  {name:<{width}}  {flag:<18}  {default}".rstrip() for name, flag, default in rows]
    lines += [
        "",
        "the commands that talk to a running sandbox read PASSBOX_URL (--url) and PASSBOX_ADMIN_TOKEN",
        "(--admin-token).",
    ]
    return "\n".join(lines)


def build_parser(*, serve_only: bool = False) -> Parser:
    """The whole command line; ``serve_only`` leaves out the other commands (a server's start
    then skips building their 20 parsers, about 5 ms)."""
    from passbox.cli import remote

    parser = Parser(
        prog="passbox",
        description="A local sandbox of the SEEK Pass and VerifyPass identity-verification APIs.",
    )
    parser.add_argument("--version", action=VersionAction, nargs=0, help="show passbox's version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="start the sandbox (the default command)",
        description="Start the sandbox.",
        epilog=environment_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_serve_arguments(serve)
    if serve_only:
        return parser
    remote.add_commands(commands)
    check = commands.add_parser(
        "check-spec", help="validate OpenAPI specs", description="Validate the bundled specs (or the files given)."
    )
    check.add_argument("files", nargs="*", type=Path, help="spec files (default: the bundled ones)")
    return parser


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default: 8000)")
    parser.add_argument(
        "--store",
        metavar="URL",
        help="where state lives: sqlite:///PATH, postgresql://... (replicas share it) or memory:// "
        "(default: SQLite in --data-dir; env PASSBOX_STORE)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"directory of the default SQLite store, created on first run (default: ./{DEFAULT_DATA_DIR}/)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the store (not with memory://; default: 1)"
    )
    parser.add_argument("--seed", type=int, help="seed for ids, people and documents (default: random, then kept)")
    parser.add_argument(
        "--secret-key",
        help="server secret that keys and webhook secrets derive from (default: random on first start, kept "
        "in the store)",
    )
    parser.add_argument(
        "--retention", type=int, help="seconds finished records are kept before they are retired (default: 604800)"
    )
    parser.add_argument("--max-records", type=int, help="finished records of each kind kept at most (default: 10000)")
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
    parser.add_argument("--journal-size", type=int, help="requests kept in the journal (default: 1000; 0 turns it off)")
    parser.add_argument("--reload", action="store_true", help="restart when the code, specs or fixtures change")
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="print uvicorn's line per request (off: the journal, /_sandbox/requests, already shows traffic)",
    )
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


# Serve flags and the PASSBOX_* variables they stand for (--reload runs the app in a child
# process that reads its settings from the environment).
SERVE_FLAGS = {
    "store": "store_url",
    "seed": "seed",
    "secret_key": "secret_key",
    "retention": "retention_seconds",
    "max_records": "max_records",
    "fixtures": "fixtures_dir",
    "public_url": "public_url",
    "token_ttl": "token_ttl",
    "request_ttl": "request_ttl",
    "retry_schedule": "webhook_retry_schedule",
    "time_compression": "time_compression",
    "incomplete_event": "incomplete_event",
    "admin_token": "admin_token",
    "faults": "faults_file",
    "journal_size": "journal_size",
}


def banner(settings: Settings, seed: int | None, host: str, port: int) -> str:
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}"
    seed_text = f"seed {seed}; replay with --seed {seed}" if seed is not None else "seed from PASSBOX_SEED"
    lines = [
        f"passbox is running at {url}   ({seed_text})",
        f"  state:      {describe_store(settings.store_url)}",
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
        f"  dashboard:  {url}/_sandbox/" + ("   (needs the admin token)" if settings.admin_token else ""),
        f"  API docs:   {url}/docs   (all three specs, interactive, offline)",
        f"  API:        {url}/_sandbox/scenarios  clock  faults  requests  deliveries  reset",
        f"  spec:       {url}/specs/sandbox.openapi.yaml",
        f"  fixtures:   {settings.fixtures_dir}",
    ]
    if not is_loopback(host):
        lines += ["", f"WARNING: bound to {host}: anyone who can reach this address can use the sandbox."]
        if not settings.admin_token:
            lines += [
                "WARNING: " + "!" * 70,
                "WARNING: the control plane (/_sandbox/) is OPEN: anyone on the network can reset it, move",
                "WARNING: its clock and inject faults. Start with --admin-token <secret> to protect it.",
                "WARNING: " + "!" * 70,
            ]
    return "\n".join(lines)


def describe_store(url: str) -> str:
    """Where state lives and how to start fresh, for the banner (passwords hidden)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        return "in memory (memory://): gone when passbox stops"
    if scheme == "sqlite":
        path = url.split(":", 1)[1][3:]
        return f"{path} (SQLite, kept across restarts; start fresh: stop passbox and delete it, or reset)"
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    shown = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return f"{shown} (PostgreSQL, shared by every replica on it; start fresh: POST /_sandbox/reset)"


def default_store(data_dir: Path | None) -> str:
    """SQLite in the data directory (created now), unless PASSBOX_STORE names a store."""
    directory = (data_dir or Path(os.environ.get("PASSBOX_DATA_DIR") or DEFAULT_DATA_DIR)).resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create the data directory {directory}: {exc.strerror}") from exc
    return f"sqlite:///{directory / 'passbox.db'}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _env_value(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(f"{item:g}" for item in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def check_port(host: str, port: int) -> None:
    """Bind the address for a moment, as uvicorn will, so a busy port is one line, not a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind((host, port))
    except OverflowError as exc:
        raise CLIError(f"--port must be 0 to 65535, not {port}") from exc
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CLIError(f"port {port} is in use on {host}: try --port {port + 1}") from exc
        reason = exc.strerror or str(exc)
        raise CLIError(f"cannot listen on {host}:{port}: {reason}") from exc


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from passbox.app import create_app
    from passbox.core.fixtures import FixtureError
    from passbox.core.store import StoreError
    from passbox.server import PROTOCOL, WEBSOCKETS, log_config, settle_heap

    overrides = {field: getattr(args, flag) for flag, field in SERVE_FLAGS.items()}
    if overrides["store_url"] is None and not os.environ.get(env_name("store_url")):
        overrides["store_url"] = default_store(args.data_dir)
    if args.workers < 1:
        raise CLIError("--workers must be at least 1")
    separate = args.reload or args.workers > 1  # the app is built in other processes
    try:
        settings = Settings.from_env(**overrides)
        if args.workers > 1 and settings.store_url.startswith("memory:"):
            raise CLIError("memory:// lives in one process: use a SQLite or PostgreSQL --store with --workers")
        app = create_app(settings)
        if separate:
            # Built once here to check the settings and fixtures, make the store and fix its seed.
            app.state.sandbox.core.store.close()
    except (FixtureError, ValueError, StoreError) as exc:
        raise CLIError(str(exc)) from exc
    try:
        check_port(args.host, args.port)
    except CLIError:
        if not separate:
            app.state.sandbox.core.store.close()
        raise
    if not is_loopback(args.host) and not settings.admin_token:
        # Loudly, on stderr too, where process supervisors look.
        print(f"passbox: WARNING: {args.host} is not loopback and there is no --admin-token", file=sys.stderr)

    seed = app.state.sandbox.seed
    if separate:
        # The reloader and the workers build the app in child processes: hand the settings over
        # as PASSBOX_* variables.
        for field, value in {**overrides, "seed": seed}.items():
            if value is not None:
                os.environ[env_name(field)] = _env_value(value)
        print(banner(settings, seed, args.host, args.port), flush=True)
        from passbox.core.resources import PACKAGE_DIR, data_dir

        reload: dict[str, Any] = {}
        if args.reload:
            reload = {
                "reload": True,
                "reload_dirs": [str(PACKAGE_DIR), str(data_dir("specs")), str(settings.fixtures_dir)],
                "reload_includes": ["*.py", "*.yaml", "*.html"],
            }
        uvicorn.run(
            "passbox.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            workers=None if args.reload else args.workers,
            http=PROTOCOL,
            ws=WEBSOCKETS,
            access_log=args.access_log,
            log_config=log_config(),
            proxy_headers=False,
            **reload,
        )
        return 0

    text = banner(settings, seed, args.host, args.port)

    class Server(uvicorn.Server):
        # The banner is printed once the socket is bound, so it also means "ready".
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                settle_heap()
                print(text, flush=True)

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=False,
        http=PROTOCOL,
        ws=WEBSOCKETS,
        access_log=args.access_log,
        log_config=log_config(),
    )
    Server(config).run()
    return 0


def check_spec(args: argparse.Namespace) -> int:
    from openapi_spec_validator import validate

    from passbox.core.operations import METHODS
    from passbox.core.resources import load_yaml, specs_dir
    from passbox.core.specs import Spec

    files = args.files or sorted(specs_dir().glob("*.openapi.yaml"))
    failed = 0
    for path in files:
        try:
            document: Any = load_yaml(path.read_bytes())
            if not isinstance(document, dict):
                raise ValueError("not a YAML mapping")
            validate(document)
            Spec.load(path)  # the validators the sandbox compiles from it
        except Exception as exc:
            failed += 1
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"FAIL {path}: {reason}")
            continue
        operations = sum(1 for item in document.get("paths", {}).values() for method in item if method in METHODS)
        webhooks = len(document.get("webhooks", {}))
        print(f"ok   {path}: OpenAPI {document['openapi']}, {operations} operations, {webhooks} webhooks")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    from passbox.cli import remote

    argv = list(sys.argv[1:] if argv is None else argv)
    # `passbox` alone, or `passbox --port 9000`, means `passbox serve ...`.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["serve", *argv]
    args = build_parser(serve_only=argv[0] == "serve").parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "check-spec":
            return check_spec(args)
        return remote.run(args)
    except CLIError as exc:
        print(f"passbox: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`passbox requests | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
