"""A throwaway, real PostgreSQL server for the tests: initdb into a temp dir, pg_ctl start, pg_ctl stop.

Standalone on purpose (standard library, plus psycopg when it is importable), so it also runs as a script:
``python tests/postgres_server.py`` starts a server, prints its URL and ``SELECT version()``, and stops it.

Debian's PostgreSQL refuses to run as root; when the tests run as root the server commands run as the
``postgres`` system user (``runuser -u postgres --``). Set ``PASSBOX_TEST_POSTGRES_URL`` to use an existing
server instead of starting one (see :func:`postgres_url_from_env`).
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["ENV_URL", "PostgresServer", "find_pg_bin", "postgres_url_from_env"]

ENV_URL = "PASSBOX_TEST_POSTGRES_URL"
SERVICE_USER = "postgres"  # the OS user the server runs as when we are root; also the superuser role name

_INITDB_TIMEOUT = 120.0
_START_WAIT = 60  # pg_ctl -t
_STOP_TIMEOUT = 30.0
_PSQL_TIMEOUT = 30.0
_PORT_ATTEMPTS = 3
_DB_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def postgres_url_from_env() -> str | None:
    """The URL of an externally provided server (``$PASSBOX_TEST_POSTGRES_URL``), or None if unset/empty."""
    return os.environ.get(ENV_URL) or None


def _has_server_tools(directory: Path) -> bool:
    return all(os.access(directory / tool, os.X_OK) for tool in ("initdb", "pg_ctl"))


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<ver>/bin: numeric sort, so 15 beats 9.6.
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: the newest /usr/lib/postgresql/*/bin, else PATH."""
    debian = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if _has_server_tools(d)]
    if debian:
        return max(debian, key=_version_key)
    for entry in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not entry:
            continue
        directory = Path(entry)
        if _has_server_tools(directory):
            # /usr/local/bin/initdb may be a symlink into the real bin dir, which also has postgres and psql.
            real = (directory / "initdb").resolve().parent
            return real if _has_server_tools(real) else directory
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no server log: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(part.strip() for part in (proc.stdout, proc.stderr) if part and part.strip())


class PostgresServer:
    """A private PostgreSQL cluster on a free loopback port, trust auth, superuser ``postgres``.

    ``with PostgresServer() as pg: ...`` or ``start()``/``stop()``. ``url`` points at the ``postgres``
    database; :meth:`create_database` makes a fresh one per test (or module) and returns its URL.
    Durability is off (fsync, synchronous_commit, full_page_writes): it is a test server.
    """

    def __init__(self, bin_dir: Path | None = None, *, base_dir: str | os.PathLike[str] | None = None) -> None:
        self.bin_dir = bin_dir
        self._base_dir = base_dir
        self._tmp: Path | None = None
        self._port: int | None = None
        self._running = False
        self._prefix: list[str] = []  # runuser/setpriv command prefix when we are root

    # -- public ---------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None or not self._running:
            raise RuntimeError("PostgresServer is not running")
        return self._port

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/postgres``."""
        return self.database_url("postgres")

    @property
    def tmp_dir(self) -> Path | None:
        """The temp directory holding the cluster (``data/``), its log and its socket; None once stopped."""
        return self._tmp

    @property
    def log_file(self) -> Path | None:
        return None if self._tmp is None else self._tmp / "logfile"

    def database_url(self, name: str) -> str:
        return f"postgresql://{SERVICE_USER}@127.0.0.1:{self.port}/{name}"

    def start(self) -> PostgresServer:
        if self._running:
            return self
        bin_dir = self.bin_dir or find_pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql")
        self.bin_dir = bin_dir
        self._prefix = self._run_as_prefix()
        self._tmp = Path(tempfile.mkdtemp(prefix="passbox-pg-", dir=self._temp_parent()))
        try:
            if self._prefix:
                # mkdtemp makes it 0700 root-owned; the server user must own it (data dir, log, socket).
                entry = pwd.getpwnam(SERVICE_USER)
                os.chown(self._tmp, entry.pw_uid, entry.pw_gid)
            self._initdb()
            self._start_server()
        except BaseException:
            self._cleanup()
            raise
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m immediate``) and remove the temp directory. Idempotent."""
        atexit.unregister(self.stop)
        if self._tmp is None:
            return
        try:
            if self._running:
                self._stop_server()
        finally:
            self._running = False
            self._cleanup()

    def create_database(self, name: str) -> str:
        """``CREATE DATABASE name`` (a plain identifier) and return its URL."""
        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"not a plain database name: {name!r}")
        try:
            import psycopg
        except ImportError:
            self._psql(f'CREATE DATABASE "{name}"')
        else:
            from psycopg import sql

            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self._port}" if self._running else "stopped"
        return f"<PostgresServer {state} tmp={self._tmp}>"

    # -- internals ------------------------------------------------------------------------------------

    def _temp_parent(self) -> str | None:
        if self._base_dir is not None:
            return os.fspath(self._base_dir)
        # As root the server user must traverse every parent; $TMPDIR might be under /root. /tmp is 1777.
        # Short paths also keep the unix socket path under its ~107 byte limit.
        return "/tmp" if self._prefix else None

    def _run_as_prefix(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise RuntimeError(
                f"running as root, and PostgreSQL refuses to: no {SERVICE_USER!r} system user to run it as"
            ) from None
        if runuser := shutil.which("runuser"):
            return [runuser, "-u", SERVICE_USER, "--"]
        if setpriv := shutil.which("setpriv"):
            return [setpriv, f"--reuid={SERVICE_USER}", f"--regid={SERVICE_USER}", "--init-groups", "--"]
        raise RuntimeError("running as root, but neither runuser nor setpriv is available to drop to 'postgres'")

    def _env(self) -> dict[str, str]:
        # Stray PGDATA/PGPORT/PGHOST/... from the caller's shell must not redirect the tools.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self._prefix:
            env["HOME"] = str(self._tmp)  # /root is not readable by the server user
        return env

    def _run(self, tool: str, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        assert self.bin_dir is not None and self._tmp is not None
        cmd = [*self._prefix, str(self.bin_dir / tool), *args]
        try:
            return subprocess.run(
                cmd,
                cwd=self._tmp,  # the server user may not be able to read the caller's cwd
                env=self._env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{tool} timed out after {timeout:.0f}s\n{self._log_tail()}") from exc

    def _log_tail(self) -> str:
        log = self.log_file
        return "(no server log)" if log is None else f"--- server log ({log}) ---\n{_tail(log)}"

    def _initdb(self) -> None:
        assert self._tmp is not None
        data = self._tmp / "data"
        common = ["-D", str(data), "-U", SERVICE_USER, "--auth=trust", "-E", "UTF8"]
        proc = self._run("initdb", [*common, "--locale=C.UTF-8"], _INITDB_TIMEOUT)
        if proc.returncode != 0:
            first = _output(proc)
            shutil.rmtree(data, ignore_errors=True)
            proc = self._run("initdb", [*common, "--no-locale"], _INITDB_TIMEOUT)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"initdb failed (exit {proc.returncode}) with --locale=C.UTF-8:\n{first}\n"
                    f"and with --no-locale:\n{_output(proc)}"
                )

    def _start_server(self) -> None:
        assert self._tmp is not None
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = _free_port()
            options = (
                f"-p {port} -k {self._tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                " -c full_page_writes=off -c max_connections=200"
            )
            args = ["-D", str(self._tmp / "data"), "-l", str(self.log_file), "-w", "-t", str(_START_WAIT)]
            proc = self._run("pg_ctl", [*args, "-o", options, "start"], _START_WAIT + 30)
            if proc.returncode == 0:
                self._port = port
                self._running = True
                return
            tail = _tail(self.log_file) if self.log_file else ""
            # Another process grabbed the port between _free_port() and bind(): try another one.
            if "could not bind" in tail and attempt < _PORT_ATTEMPTS:
                self._kill_postmaster()
                continue
            self._kill_postmaster()
            raise RuntimeError(
                f"pg_ctl start failed (exit {proc.returncode}) on port {port}:\n{_output(proc)}\n{self._log_tail()}"
            )

    def _stop_server(self) -> None:
        assert self._tmp is not None
        args = ["-D", str(self._tmp / "data"), "-m", "immediate", "-w", "-t", str(int(_STOP_TIMEOUT))]
        try:
            proc = self._run("pg_ctl", [*args, "stop"], _STOP_TIMEOUT + 10)
        except RuntimeError:
            self._kill_postmaster()
            raise
        if proc.returncode != 0:
            killed = self._kill_postmaster()
            if not killed:
                raise RuntimeError(f"pg_ctl stop failed (exit {proc.returncode}):\n{_output(proc)}\n{self._log_tail()}")

    def _kill_postmaster(self) -> bool:
        """SIGKILL the postmaster named in postmaster.pid, if still alive. True if it is gone afterwards."""
        assert self._tmp is not None
        try:
            pid = int((self._tmp / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return True
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
        return False

    def _cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self._running = False

    def _psql(self, statement: str) -> None:
        assert self.bin_dir is not None
        psql = self.bin_dir / "psql"
        exe = str(psql) if psql.exists() else shutil.which("psql")
        if exe is None:
            raise RuntimeError("neither psycopg nor psql is available to run SQL")
        proc = subprocess.run(
            [exe, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url, "-c", statement],
            env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_PSQL_TIMEOUT,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed (exit {proc.returncode}) running {statement!r}:\n{_output(proc)}")


def _main() -> int:
    import psycopg

    t0 = time.monotonic()
    with PostgresServer() as server:
        started = time.monotonic()
        print(f"url: {server.url}  (tmp: {server.tmp_dir}, bin: {server.bin_dir})")
        with psycopg.connect(server.url, connect_timeout=10) as conn:
            row = conn.execute("SELECT version()").fetchone()
            print(row[0] if row else "(no row)")
        db_url = server.create_database("passbox_smoke")
        with psycopg.connect(db_url, connect_timeout=10) as conn:
            row = conn.execute("SELECT current_database()").fetchone()
            print(f"created: {db_url} -> {row[0] if row else None}")
        tmp = server.tmp_dir
        before_stop = time.monotonic()
    stopped = time.monotonic()
    print(
        f"start {started - t0:.2f}s, stop {stopped - before_stop:.2f}s, "
        f"tmp removed: {tmp is not None and not tmp.exists()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(_main())
