"""Processes: start a server on loopback, time its first 2xx, read its RSS, stop it by PID.

Only the processes started here are ever signalled, by their PIDs (the started process and its
descendants, found through /proc), never by name.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 90.0
POLL_INTERVAL = 0.01
NOISE = 0.15  # cores used by other processes above which a measurement counts as disturbed
STOP_GRACE = 5.0


class BenchError(RuntimeError):
    """The bench itself is wrong or a server did not behave: stop with a clear message."""


@dataclass(frozen=True)
class Req:
    """One HTTP request, as both the pre-check (http.client) and wrk (Lua) send it."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def send(port: int, req: Req, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send one request to 127.0.0.1:port; (status, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(req.method, req.path, body=req.body or None, headers=dict(req.headers))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# -- /proc ------------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids[ppid].append(int(entry.name))
    return kids


def tree(pid: int) -> list[int]:
    """pid and all its live descendants."""
    kids = _children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def status_kib(pid: int, name: str) -> int:
    """A /proc/PID/status field in KiB (VmRSS, VmHWM); 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_kib(pid: int, name: str) -> int:
    """Sum of a status field over the process tree (for VmHWM: the sum of each process's own peak)."""
    return sum(status_kib(p, name) for p in tree(pid))


# -- a server process -------------------------------------------------------------------------------


class Server:
    """A server process we started: ``start()`` returns the cold start in ms (spawn to first 2xx)."""

    def __init__(
        self,
        name: str,
        cmd: Sequence[str],
        port: int,
        probe: Req,
        *,
        cwd: Path,
        log: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.cmd = list(cmd)
        self.port = port
        self.probe = probe
        self.cwd = cwd
        self.log = log
        self.env = dict(env) if env is not None else clean_env()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = STARTUP_TIMEOUT) -> float:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex((HOST, self.port)) == 0:
                raise BenchError(f"[{self.name}] port {self.port} is already in use")
        log = self.log.open("wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(  # noqa: S603 (our own argv, no shell)
            self.cmd, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        last = "no answer"
        while time.perf_counter() - t0 < timeout:
            try:
                status, body = send(self.port, self.probe, timeout=2.0)
            except OSError as exc:
                last = f"{type(exc).__name__}"
            else:
                if 200 <= status < 300:
                    return (time.perf_counter() - t0) * 1000
                last = f"HTTP {status}: {body[:300]!r}"
                if 400 <= status < 500:
                    break  # a 4xx to the probe: the bench's request is wrong, waiting will not help
            if self.proc.poll() is not None:
                raise BenchError(f"[{self.name}] exited with {self.proc.returncode} during startup\n{self.tail()}")
            time.sleep(POLL_INTERVAL)
        self.stop()
        raise BenchError(f"[{self.name}] no 2xx to {self.probe.method} {self.probe.path} ({last})\n{self.tail()}")

    def rss_kib(self) -> int:
        return tree_kib(self.pid, "VmRSS")

    def peak_kib(self) -> int:
        return tree_kib(self.pid, "VmHWM")

    def nprocs(self) -> int:
        return len(tree(self.pid))

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(f"    {line}" for line in text[-lines:]) or "    (empty log)"

    def stop(self) -> None:
        """TERM the tree (by PID), KILL what is left after a grace period, reap."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pids = tree(self.pid)
        for p in pids:
            _signal(p, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            if self.proc.poll() is not None and not any(_alive(p) for p in pids if p != self.pid):
                break
            time.sleep(0.05)
        for p in pids:
            if _alive(p):
                _signal(p, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_GRACE)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


PYCACHE = Path.home() / ".cache" / "passbox-bench" / "pycache"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without PASSBOX_* settings (so the shell cannot change what is
    measured), and with compiled bytecode: PYTHONDONTWRITEBYTECODE is dropped and every Python
    server reads and writes its .pyc files under PYCACHE (outside the repository), so passbox
    starts from bytecode, as an installed package and the floor's site-packages do."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSBOX_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(extra or {})
    return env


def mib(kib: int) -> float:
    return kib / 1024


# -- CPU used by everything else on the machine (noise) ----------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def cpu_seconds_by_process(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each process in the trees of ``pids`` has used so far."""
    seconds: dict[int, float] = {}
    for root in pids:
        for p in tree(root):
            try:
                after = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds[p] = (int(after[11]) + int(after[12])) / _TICK  # utime, stime
    return seconds


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) the process trees of ``pids`` have used so far."""
    return sum(cpu_seconds_by_process(pids).values())


def cpu_split(before: dict[int, float], after: dict[int, float]) -> str:
    """How the CPU a server's processes used between two readings divides between the two
    that used the most, in percent ("55/45", or "100/0" when one did all the work); "-" for a
    server of one process. (A worker supervisor and a resource tracker use next to none.)

    With ``--workers 2`` the kernel hands each new connection to whichever worker accepts it
    first, so wrk's 8 connections may split 4/4 one run and 8/0 the next, and req/s with them:
    this column says which run was which."""
    used = sorted((seconds - before.get(pid, 0.0) for pid, seconds in after.items()), reverse=True)
    total = sum(used)
    if len(used) < 2 or total <= 0:
        return "-"
    return f"{round(100 * used[0] / total)}/{round(100 * used[1] / total)}"


def _own_seconds() -> float:
    """This process and its reaped children (the wrk runs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CpuMeter:
    """How much CPU processes other than ours (the servers, wrk, the bench, PostgreSQL) used meanwhile.

    Reported as average cores; on a 2-core machine anything above ~0.1 means the numbers are disturbed.
    """

    def __init__(self, *pids: int | None) -> None:
        self.pids = [p for p in pids if p]
        self.wall = time.monotonic()
        self.busy = _busy_seconds()
        self.ours = tree_cpu_seconds(self.pids) + _own_seconds()

    def other_cores(self) -> float:
        wall = time.monotonic() - self.wall
        busy = _busy_seconds() - self.busy
        ours = tree_cpu_seconds(self.pids) + _own_seconds() - self.ours
        return max(0.0, busy - ours) / wall if wall > 0 else 0.0


def wait_quiet(max_wait: float, threshold: float = NOISE, sample: float = 3.0) -> float:
    """Wait (at most max_wait seconds) until other processes use less than threshold cores over a sample.

    Returns the last sample's figure; the caller decides whether to say the run is disturbed.
    """
    deadline = time.monotonic() + max_wait
    while True:
        meter = CpuMeter()
        time.sleep(sample)
        other = meter.other_cores()
        if other < threshold or time.monotonic() + sample > deadline:
            return other
