"""The servers the bench starts, and the loads they answer.

Every server is started on 127.0.0.1 on a free port, one at a time, from a clean environment
(no PASSBOX_* variables), and stopped by PID.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import NOISE, BenchError, Req, Server, clean_env, send, wait_quiet

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
PEERS_DIR = Path(os.environ.get("PEERS_DIR", "/tmp/peers"))  # noqa: S108 (where setup-peers.sh installs)

# -- the loads -------------------------------------------------------------------------------------

DEMO_KEY = "passbox-demo-key"
CLIENT_ID = "passbox-demo-client"
CLIENT_SECRET = "passbox-demo-secret"  # noqa: S105 (the public demo fixture)
TOKEN_PATH = "/api/v2/token"  # noqa: S105 (a path)
OAUTH_PATH = "/api/partner/v1/oauth/token.json"
CREATE_PATH = "/api/partner/v2/verify/requests/digital_identity.json"
READ_PATH = "/api/partner/v2/webhooks"
TOKEN_BODY = b'{"email":"bench@example.com","first_name":"Bench"}'
CREATE_BODY = b'{"display_options":{"partner_name":"Bench"}}'
# A magic request id that verifies at once, so the request is finished and falls under retention.
VERIFIED_CREATE_FORMAT = '{"request_id":"sandbox:verified:%d","display_options":{"partner_name":"Bench"}}'
FAKE_BEARER = "bench-not-a-real-token"  # floor and Prism only check that there is one

LOADS = ("token", "create", "read")
LOAD_DESCRIPTIONS = {
    "token": f"POST {TOKEN_PATH} (VerifyPass applicant token, key header, JSON body)",
    "create": f"POST {CREATE_PATH} (SEEK Pass create, bearer token, new request each time)",
    "read": f"GET {READ_PATH} (SEEK Pass list webhooks, bearer token)",
}


def token_request() -> Req:
    return Req("POST", TOKEN_PATH, {"key": DEMO_KEY, "Content-Type": "application/json"}, TOKEN_BODY)


def create_request(bearer: str, body: bytes = CREATE_BODY) -> Req:
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
    return Req("POST", CREATE_PATH, headers, body)


def read_request(bearer: str) -> Req:
    return Req("GET", READ_PATH, {"Authorization": f"Bearer {bearer}"})


def load_request(load: str, bearer: str) -> Req:
    if load == "token":
        return token_request()
    if load == "create":
        return create_request(bearer)
    return read_request(bearer)


def passbox_bearer(port: int) -> str:
    """A SEEK Pass access token from the server (client credentials, form body)."""
    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    ).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    status, body = send(port, Req("POST", OAUTH_PATH, headers, form))
    if status != 200:
        raise BenchError(f"POST {OAUTH_PATH} gave {status}: {body[:500]!r}")
    token: str = json.loads(body)["access_token"]
    return token


def check(name: str, load: str, port: int, req: Req) -> None:
    """One request before timing: anything but a 2xx means the bench (or the server) is wrong."""
    status, body = send(port, req)
    if not 200 <= status < 300:
        what = "the bench's request is wrong" if 400 <= status < 500 else "the server failed"
        raise BenchError(f"[{name}] {load}: {req.method} {req.path} answered {status} ({what}): {body[:500]!r}")


# -- the servers -----------------------------------------------------------------------------------


@dataclass
class Context:
    python: str  # the repo venv's interpreter
    source: Path  # the directory whose sandbox/ package is served (the repo, or a snapshot of it)
    tmp: Path
    log_level: str = "warning"
    wait_quiet: float = 0.0
    _postgres: Any = None
    _databases: int = 0
    notes: list[str] = field(default_factory=list)

    def postgres_url(self) -> str:
        """A fresh database on one throwaway PostgreSQL server, started on first use."""
        if self._postgres is None:
            if str(REPO) not in sys.path:
                sys.path.insert(0, str(REPO))
            from tests.postgres_server import PostgresServer

            self._postgres = PostgresServer().start()
        self._databases += 1
        return str(self._postgres.create_database(f"bench_{self._databases}"))

    def quiet(self, name: str) -> None:
        """Wait (bounded) for the machine to be quiet before starting a server; say so when it is not."""
        if self.wait_quiet <= 0:
            return
        other = wait_quiet(self.wait_quiet)
        if other >= NOISE:
            print(f"[{name}] other processes still use {other:.2f} cores: numbers will be disturbed", file=sys.stderr)

    def postgres_pid(self) -> int | None:
        if self._postgres is None or self._postgres.tmp_dir is None:
            return None
        try:
            return int((self._postgres.tmp_dir / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def close(self) -> None:
        if self._postgres is not None:
            self._postgres.stop()
            self._postgres = None


@dataclass(frozen=True)
class Spec:
    name: str
    loads: tuple[str, ...]
    build: Callable[[Context, int, str], Server]  # (ctx, port, log name) -> a Server, not started
    fake_bearer: bool = False  # True: any bearer will do (floor, Prism); False: get one from passbox
    skip: Callable[[], str | None] = lambda: None


def floor(ctx: Context, port: int, log: str) -> Server:
    cmd = [ctx.python, "-m", "uvicorn", "floor_app:app", "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--http", "httptools", "--loop", "uvloop", "--workers", "1"]
    cmd += ["--no-access-log", "--log-level", "warning"]
    return Server("floor", cmd, port, token_request(), cwd=BENCH_DIR, log=ctx.tmp / log)


def floor_one_write(ctx: Context, port: int, log: str) -> Server:
    """The floor served by passbox's own protocol (each response in one write): how much of
    passbox's figure that protocol alone gives, next to the stock floor the targets are set by."""
    _, env = passbox_module(ctx.source)
    cmd = [ctx.python, "-m", "uvicorn", "floor_app:app", "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--http", "passbox.server:BoundedHttpToolsProtocol", "--loop", "uvloop"]
    cmd += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    return Server("floor-one-write", cmd, port, token_request(), cwd=BENCH_DIR, log=ctx.tmp / log, env=env)


def passbox_bare(ctx: Context, port: int, log: str) -> Server:
    """passbox's backends behind raw ASGI, without the layers around them (bench/bare_app.py):
    the ceiling of what taking those layers away could give."""
    _, env = passbox_module(ctx.source)
    app_dir = ctx.source / "bench"
    if not (app_dir / "bare_app.py").is_file():
        raise BenchError(f"no bench/bare_app.py in {ctx.source}: passbox-bare needs a tree from 2026-12-06 on")
    cmd = [ctx.python, "-m", "uvicorn", "bare_app:build", "--factory", "--app-dir", str(app_dir)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--http", "passbox.server:BoundedHttpToolsProtocol"]
    cmd += ["--loop", "uvloop", "--workers", "1", "--no-access-log", "--log-level", "warning"]
    return Server("passbox-bare", cmd, port, token_request(), cwd=ctx.source, log=ctx.tmp / log, env=env)


def passbox_module(source: Path) -> tuple[str, dict[str, str]]:
    """How to run passbox from a source tree: ``-m sandbox`` (sandbox/ is the package, found from the cwd),
    or ``-m passbox`` with sandbox/ on PYTHONPATH (the layout with the package in sandbox/passbox/)."""
    if (source / "sandbox" / "__main__.py").is_file():
        return "sandbox", clean_env()
    if (source / "sandbox" / "passbox" / "__main__.py").is_file():
        path = os.pathsep.join(p for p in (str(source / "sandbox"), os.environ.get("PYTHONPATH", "")) if p)
        return "passbox", clean_env({"PYTHONPATH": path})
    raise BenchError(f"no sandbox/__main__.py or sandbox/passbox/__main__.py under {source}")


def passbox_cmd(ctx: Context, store: str, port: int, workers: int = 1, extra: tuple[str, ...] = ()) -> list[str]:
    module, _ = passbox_module(ctx.source)
    cmd = [ctx.python, "-m", module, "serve", "--store", store, "--port", str(port), "--seed", "1"]
    cmd += ["--log-level", ctx.log_level]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    return cmd + list(extra)


def store_url(ctx: Context, store: str, tag: str) -> str:
    if store == "memory":
        return "memory://"
    if store == "sqlite":
        return f"sqlite:///{ctx.tmp / f'{tag}.db'}"
    if store == "postgres":
        return ctx.postgres_url()
    raise ValueError(store)


def passbox(store: str, workers: int = 1) -> Callable[[Context, int, str], Server]:
    def build(ctx: Context, port: int, log: str) -> Server:
        url = store_url(ctx, store, log.removesuffix(".log"))
        name = f"passbox-{store}" + (f"-w{workers}" if workers > 1 else "")
        cmd, env = passbox_cmd(ctx, url, port, workers), passbox_module(ctx.source)[1]
        return Server(name, cmd, port, token_request(), cwd=ctx.source, log=ctx.tmp / log, env=env)

    return build


def prism_bin() -> Path:
    return PEERS_DIR / "node_modules" / ".bin" / "prism"


def prism(spec_file: str, probe: Callable[[], Req]) -> Callable[[Context, int, str], Server]:
    def build(ctx: Context, port: int, log: str) -> Server:
        spec = ctx.source / "specs" / spec_file
        cmd = [str(prism_bin()), "mock", str(spec), "-h", "127.0.0.1", "-p", str(port), "-v", "error"]
        return Server("prism", cmd, port, probe(), cwd=PEERS_DIR, log=ctx.tmp / log)

    return build


def no_prism() -> str | None:
    return None if os.access(prism_bin(), os.X_OK) else f"Prism not installed at {prism_bin()} (bench/setup-peers.sh)"


def no_postgres() -> str | None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.postgres_server import find_pg_bin, postgres_url_from_env

    if find_pg_bin() is None and postgres_url_from_env() is None:
        return "PostgreSQL not installed (apt-get install -y postgresql)"
    return None


def specs(workers: list[int]) -> list[Spec]:
    out = [
        Spec("floor", LOADS, floor, fake_bearer=True),
        Spec("floor-one-write", LOADS, floor_one_write, fake_bearer=True),
        Spec("passbox-memory", LOADS, passbox("memory")),
        Spec("passbox-bare", LOADS, passbox_bare),
    ]
    for store in ("sqlite", "postgres"):
        for n in workers:
            name = f"passbox-{store}" + (f"-w{n}" if n > 1 else "")
            out.append(Spec(name, LOADS, passbox(store, n), skip=no_postgres if store == "postgres" else lambda: None))
    out.append(Spec("prism", ("token",), prism("verifypass.openapi.yaml", token_request), True, no_prism))
    out.append(
        Spec("prism", ("create",), prism("seekpass.openapi.yaml", lambda: create_request(FAKE_BEARER)), True, no_prism)
    )
    return out


# -- where passbox comes from ----------------------------------------------------------------------


def snapshot(rev: str, dest: Path) -> Path:
    """Export a committed tree (git archive; the repository is only read) to dest and return it."""
    archive = dest.parent / "source.tar"
    git = shutil.which("git") or "git"
    proc = subprocess.run(  # noqa: S603
        [git, "-C", str(REPO), "archive", "--format=tar", "-o", str(archive), rev], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise BenchError(f"git archive {rev} failed: {proc.stderr.strip()}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return dest


def describe_source(source: Path, rev: str | None) -> str:
    git = shutil.which("git") or "git"

    def out(*args: str) -> str:
        proc = subprocess.run([git, "-C", str(REPO), *args], capture_output=True, text=True)  # noqa: S603
        return proc.stdout.strip()

    if rev is not None:
        return f"passbox at {rev} ({out('rev-parse', '--short', rev)}, exported)"
    if source == REPO:
        head = out("rev-parse", "--short", "HEAD")
        dirty = [line for line in out("status", "--porcelain", "--", "sandbox", "specs", "fixtures").splitlines()]
        state = f", work tree with {len(dirty)} uncommitted file(s) under sandbox/specs/fixtures" if dirty else ""
        return f"passbox {head}{state}"
    return f"passbox from {source}"
