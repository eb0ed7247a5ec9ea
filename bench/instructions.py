"""Instructions per request, in process, under valgrind: ``python -m bench.instructions``.

wrk's figures move by a tenth between runs on this VM, so a change worth 2% cannot be seen in
them. The instructions the CPU executes per request can: they do not depend on what else runs,
and two runs of the same code agree to 0.01%. This runs passbox's app in this process (memory
store by default, seed 1), sends ``--count`` requests of a load through it from eight tasks
(its ASGI callable called directly, as an ASGI server would, without sockets), once with
``--count`` requests and once with three times as many, each under ``valgrind --tool=callgrind``,
and prints the difference divided by the extra requests: what one more request costs, start-up
left out. ``--bare`` measures bench/bare_app.py (the backends without the layers around them)
instead. About a minute per figure.

    .venv/bin/python -m bench.instructions --load create            # 381,000 or so at 89ba99f
    .venv/bin/python -m bench.instructions --load create --bare     # 252,000: the layers are the rest

Instructions are not time: a change that saves instructions but misses the CPU's caches more
(a bigger store) can still be slower, so confirm a change with ``bench/run --source``. On a
SQLite store an in-process caller never lets the loop turn between requests, so a group commit
stays open across many of them: measure store changes on a real server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.servers import (
    CLIENT_ID,
    CLIENT_SECRET,
    CREATE_BODY,
    CREATE_PATH,
    DEMO_KEY,
    OAUTH_PATH,
    READ_PATH,
    REPO,
    TOKEN_BODY,
    TOKEN_PATH,
)

TASKS = 8
WARMUP = 400  # requests before the counted ones: caches filled, lazy imports done


def scope_for(method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    raw += [(b"content-length", str(len(body)).encode()), (b"host", b"127.0.0.1:8000")]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # a disconnect never comes
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope_for(method, path, headers, body), receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


async def drive(load: str, count: int, store: str, bare: bool) -> None:
    """Send ``WARMUP`` then ``count`` requests of ``load``; exits non-zero on a non-2xx."""
    import json

    from passbox.app import create_app
    from passbox.settings import Settings

    app: Any = create_app(Settings(store_url=store, seed=1))
    if bare:
        from bench.bare_app import build

        app = build(settle=False)
    credentials = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    status, body = await call(
        app, "POST", OAUTH_PATH, {"content-type": "application/json"}, json.dumps(credentials).encode()
    )
    if status != 200:
        raise SystemExit(f"client-credentials token: {status} {body[:200]!r}")
    bearer = {"authorization": f"Bearer {json.loads(body)['access_token']}"}
    request = {
        "token": ("POST", TOKEN_PATH, {"key": DEMO_KEY, "content-type": "application/json"}, TOKEN_BODY),
        "create": ("POST", CREATE_PATH, {**bearer, "content-type": "application/json"}, CREATE_BODY),
        "read": ("GET", READ_PATH, bearer, b""),
    }[load]

    async def task(n: int) -> None:
        for _ in range(n):
            status, body = await call(app, *request)
            if not 200 <= status < 300:
                raise SystemExit(f"{load}: {status} {body[:200]!r}")

    await asyncio.gather(*(task(WARMUP // TASKS) for _ in range(TASKS)))
    await asyncio.gather(*(task(count // TASKS) for _ in range(TASKS)))


def collected(count: int, args: argparse.Namespace, out: Path) -> int:
    """Instructions callgrind counted for a whole run with ``count`` requests."""
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m", "bench.instructions"]
    cmd += ["--drive", str(count), "--load", args.load, "--store", args.store] + (["--bare"] if args.bare else [])
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": os.pathsep.join([str(REPO / "sandbox"), str(REPO)])}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)  # noqa: S603
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", choices=("token", "create", "read"), default="create")
    parser.add_argument("--store", default="memory://", help="store URL (default memory://)")
    parser.add_argument("--count", type=int, default=1000, help="requests in the smaller run (default 1000)")
    parser.add_argument("--bare", action="store_true", help="bench/bare_app.py instead of the full app")
    parser.add_argument("--drive", type=int, help=argparse.SUPPRESS)  # the run under valgrind
    args = parser.parse_args(argv)
    if args.drive is not None:
        import uvloop

        uvloop.run(drive(args.load, args.drive, args.store, args.bare))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install -y valgrind)", file=sys.stderr)
        return 1
    count = max(TASKS, args.count // TASKS * TASKS)
    with tempfile.TemporaryDirectory() as tmp:
        small = collected(count, args, Path(tmp) / "small.out")
        large = collected(3 * count, args, Path(tmp) / "large.out")
    what = "bench/bare_app.py" if args.bare else "passbox"
    print(f"{what} {args.load} on {args.store}: {(large - small) / (2 * count):,.0f} instructions a request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
