"""What a run was measured with: date, cores, versions (printed above each table)."""

from __future__ import annotations

import datetime
import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path

from bench import wrk
from bench.servers import no_postgres, no_prism, prism_bin


def _pkg(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def _run(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return "-"
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if (proc.stdout or proc.stderr).strip() else "-"


def versions(include_peers: bool = True) -> str:
    parts = [
        f"Python {platform.python_version()}",
        f"starlette {_pkg('starlette')}",
        f"uvicorn {_pkg('uvicorn')}",
        f"uvloop {_pkg('uvloop')}",
        f"httptools {_pkg('httptools')}",
        f"SQLite {sqlite3.sqlite_version}",
        f"wrk {wrk.version()}",
    ]
    if no_postgres() is None:
        parts.append(f"psycopg {_pkg('psycopg')}")
        from tests.postgres_server import find_pg_bin

        pg_bin = find_pg_bin()
        if pg_bin is not None:
            parts.append(_run([str(pg_bin / "postgres"), "--version"]).replace("postgres (PostgreSQL)", "PostgreSQL"))
    if include_peers and no_prism() is None:
        parts.append(f"Prism {_run([str(prism_bin()), '--version'])} on node {_run(['node', '--version'])}")
    return ", ".join(parts)


def loadavg() -> str:
    """The 1-minute load average: other work on the machine shares the cores with the servers and wrk."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def header(what: str, load_before: str) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{what} | {now} | {os.cpu_count()} cores | {platform.system()} {platform.release()} "
        f"| load average {load_before} before, {loadavg()} after"
    )
