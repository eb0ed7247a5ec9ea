"""wrk: a Lua script per load, a bounded run, and the numbers parsed from ``--latency`` output."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import HOST, BenchError, Req

WRK_TIMEOUT = "2s"  # a request slower than this counts as a socket timeout


@dataclass(frozen=True)
class Params:
    threads: int = 1
    connections: int = 8
    warmup: float = 2.0
    duration: float = 10.0


@dataclass
class Result:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int  # wrk's "Non-2xx or 3xx responses" (it counts status >= 400)
    socket_errors: int
    extra: dict[str, int] = field(default_factory=dict)  # WRKVAR lines written by the script's done()


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError("wrk is not installed: run bench/setup-peers.sh (apt-get install -y wrk)")
    return path


def version() -> str:
    out = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    return (out.stdout + out.stderr).split("Copyright")[0].strip().removeprefix("wrk ")


def _lua_str(text: str) -> str:
    for level in range(1, 10):
        eq = "=" * level
        if f"]{eq}]" not in text:
            return f"[{eq}[{text}]{eq}]"
    raise ValueError("cannot quote for Lua")


def _lua_headers(headers: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"[ {_lua_str(k)} ] = {_lua_str(v)}" for k, v in headers.items()) + "}"


def static_script(req: Req) -> str:
    """The same request on every call: wrk builds it once (its fastest path)."""
    lines = [f"wrk.method = {_lua_str(req.method)}", f"wrk.path = {_lua_str(req.path)}"]
    if req.body:
        lines.append(f"wrk.body = {_lua_str(req.body.decode())}")
    lines += [f"wrk.headers[ {_lua_str(k)} ] = {_lua_str(v)}" for k, v in req.headers.items()]
    return "\n".join(lines) + "\n"


def numbered_creates_script(
    path: str, headers: Mapping[str, str], body_format: str, start: int, stop_after: int, done_file: Path
) -> str:
    """POSTs whose body holds a running number (``%d`` in body_format), e.g. unique request ids.

    Once stop_after responses arrived the thread stops and creates done_file, so that ``run`` can end
    wrk at once (wrk itself would sleep out its -d). One thread: an exact count. It also counts non-2xx
    responses itself (WRKVAR lines).
    """
    stop = (
        f"if responses == {stop_after} then local f = io.open({_lua_str(str(done_file))}, 'w'); f:close(); "
        "wrk.thread:stop() end"
    )
    return f"""
counter = {start}
responses = 0
bad = 0
local path = {_lua_str(path)}
local headers = {_lua_headers(headers)}
local fmt = {_lua_str(body_format)}
request = function()
  counter = counter + 1
  return wrk.format("POST", path, headers, string.format(fmt, counter))
end
response = function(status, hdrs, body)
  responses = responses + 1
  if status < 200 or status > 299 then bad = bad + 1 end
  {stop}
end
{_THREAD_VARS}
"""


def mixed_script(reqs: list[Req], create_index: int, body_format: str, start: int) -> str:
    """Round-robin over several requests; reqs[create_index]'s body is body_format with a running number."""
    items = []
    for req in reqs:
        body = _lua_str(req.body.decode()) if req.body else "nil"
        items.append(f"{{{_lua_str(req.method)}, {_lua_str(req.path)}, {_lua_headers(req.headers)}, {body}}}")
    return f"""
counter = {start}
responses = 0
bad = 0
local reqs = {{{", ".join(items)}}}
local fmt = {_lua_str(body_format)}
local turn = 0
request = function()
  turn = turn % #reqs + 1
  local r = reqs[turn]
  local body = r[4]
  if turn == {create_index + 1} then
    counter = counter + 1
    body = string.format(fmt, counter)
  end
  return wrk.format(r[1], r[2], r[3], body)
end
response = function(status, hdrs, body)
  responses = responses + 1
  if status < 200 or status > 299 then bad = bad + 1 end
end
{_THREAD_VARS}
"""


_THREAD_VARS = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local c, r, b = 0, 0, 0
  for _, t in ipairs(threads) do
    c = math.max(c, t:get("counter")); r = r + t:get("responses"); b = b + t:get("bad")
  end
  io.write(string.format("WRKVAR counter %d\\nWRKVAR responses %d\\nWRKVAR bad %d\\n", c, r, b))
end
"""

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(text)
    return float(match[1]) * _UNITS[match[2]]


def parse(output: str) -> Result:
    def grab(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise BenchError(f"wrk output without {pattern!r}:\n{output}")
        return match

    done = grab(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    extra = {m[1]: int(m[2]) for m in re.finditer(r"^WRKVAR (\w+) (-?\d+)$", output, re.MULTILINE)}
    return Result(
        requests=int(done[1]),
        seconds=_ms(done[2] + done[3]) / 1000,
        rps=float(grab(r"^Requests/sec:\s+([\d.]+)")[1]),
        p50_ms=_ms(grab(r"^\s+50%\s+(\S+)")[1]),
        p99_ms=_ms(grab(r"^\s+99%\s+(\S+)")[1]),
        max_ms=_ms(grab(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)")[1]),
        non2xx=int(non2xx[1]) if non2xx else 0,
        socket_errors=sum(int(x) for x in sock.groups()) if sock else 0,
        extra=extra,
    )


def run(
    port: int, script: str, duration: float, params: Params, *, path: str = "/", done_file: Path | None = None
) -> Result:
    """One bounded wrk run against 127.0.0.1:port (the script sets the path; the URL's path is a default).

    With done_file, wrk is interrupted (SIGINT: it prints its summary) as soon as the script creates it.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-", delete=False) as lua:
        lua.write(script)
    try:
        cmd = [
            wrk_path(),
            f"-t{params.threads}",
            f"-c{params.connections}",
            f"-d{max(1, round(duration))}s",
            f"--timeout={WRK_TIMEOUT}",
            "--latency",
            "-s",
            lua.name,
            f"http://{HOST}:{port}{path}",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
        deadline = time.monotonic() + duration + 60
        interrupted = False
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    raise BenchError(f"wrk did not finish within {duration + 60:.0f}s")
                if done_file is not None and not interrupted and done_file.exists():
                    proc.send_signal(signal.SIGINT)
                    interrupted = True
                time.sleep(0.05)
            stdout, stderr = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # wrk runs on (with its default GET) when the script does not load: any stderr is an error.
        if proc.returncode != 0 or stderr.strip():
            raise BenchError(f"wrk failed (exit {proc.returncode}):\n{stdout}\n{stderr}\n--- script ---\n{script}")
        return parse(stdout)
    finally:
        Path(lua.name).unlink(missing_ok=True)


def warm_up(port: int, req: Req, params: Params) -> None:
    """An unreported run before the measured one; most of it failing means wrk's request is wrong."""
    if params.warmup > 0:
        warm = run(port, static_script(req), params.warmup, params, path=req.path)
        if warm.non2xx > warm.requests / 2:
            raise BenchError(f"{warm.non2xx} of {warm.requests} warmup requests failed: wrk's request is wrong")
