"""The main table: every server, every load it answers, measured in one run against the floor."""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass

from bench import wrk
from bench.procs import NOISE, BenchError, CpuMeter, Req, Server, cpu_seconds_by_process, cpu_split, free_port, mib
from bench.servers import FAKE_BEARER, Context, Spec, check, load_request, passbox_bearer

SETTLE = 0.5  # seconds between the first 2xx and the idle RSS reading


@dataclass
class Row:
    server: str
    load: str
    result: wrk.Result | None = None
    cold_ms: float | None = None
    idle_kib: int = 0
    after_kib: int = 0
    peak_kib: int = 0
    other_cores: float = 0.0  # CPU other processes on the machine used during the measured run
    cpu_us: float | None = None  # the server's own CPU time per request in the measured run
    split: str = "-"  # how that CPU divided among the server's processes (procs.cpu_split)
    attempt: int = 1  # which attempt was kept (a later attempt of create met the state earlier ones left)
    note: str = ""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(
    ctx: Context,
    specs: list[Spec],
    loads: list[str],
    params: wrk.Params,
    keep_going: bool,
    retries: int = 0,
    starts: int = 1,
) -> list[Row]:
    rows: list[Row] = []
    for index, spec in enumerate(specs):
        wanted = [load for load in spec.loads if load in loads]
        if not wanted:
            continue
        reason = spec.skip()
        if reason:
            log(f"[{spec.name}] skipped: {reason}")
            rows += [Row(spec.name, load, note=f"skipped: {reason}") for load in wanted]
            continue
        try:
            rows += run_server(ctx, spec, index, wanted, params, retries, starts)
        except BenchError as exc:
            if not keep_going:
                raise
            log(f"[{spec.name}] FAILED: {exc}")
            done = {row.load for row in rows if row.server == spec.name}
            first_line = str(exc).splitlines()[0]
            rows += [Row(spec.name, load, note=f"FAILED: {first_line}") for load in wanted if load not in done]
    return rows


def measure(
    ctx: Context, server: Server, req: Req, params: wrk.Params, retries: int
) -> tuple[wrk.Result, float, int, float, str]:
    """Warm up and measure; again (at most retries times) when other processes used the CPU meanwhile.

    Keeps the attempt with the least outside CPU. (A repeated create load adds its requests to the state.)
    Also returns the server's own CPU µs per request: time the host steals is not in it, so it moves
    less between runs than req/s does, and how that CPU divided among its processes.
    """
    best: tuple[wrk.Result, float, int, float, str] | None = None
    other = 0.0
    for attempt in range(retries + 1):
        if attempt:
            log(f"[{server.name}] other processes used {other:.2f} cores: measuring again")
            ctx.quiet(server.name)
        wrk.warm_up(server.port, req, params)
        meter = CpuMeter(server.pid, ctx.postgres_pid())
        cpu_before = cpu_seconds_by_process([server.pid])
        result = wrk.run(server.port, wrk.static_script(req), params.duration, params, path=req.path)
        cpu_after = cpu_seconds_by_process([server.pid])
        cpu_us = (sum(cpu_after.values()) - sum(cpu_before.values())) * 1e6 / max(result.requests, 1)
        other = meter.other_cores()
        if best is None or other < best[1]:
            best = (result, other, attempt + 1, cpu_us, cpu_split(cpu_before, cpu_after))
        if other < NOISE:
            break
    assert best is not None
    return best


def run_server(
    ctx: Context, spec: Spec, index: int, loads: list[str], params: wrk.Params, retries: int, starts: int = 1
) -> list[Row]:
    # A priming start first, so the measured ones find their bytecode compiled and the files they
    # read in the page cache, as a server started the second time on a machine does.
    with spec.build(ctx, free_port(), f"{index:02d}-{spec.name}-prime.log") as primer:
        primer.start()
    # One start is one sample of a figure the host moves by tens of ms: the cold start is the
    # median of ``starts`` (each a new process, and for SQLite a new file), the last of them
    # the server the loads then run against.
    samples: list[float] = []
    for number in range(1, starts):
        ctx.quiet(spec.name)
        with spec.build(ctx, free_port(), f"{index:02d}-{spec.name}-start{number}.log") as sample:
            samples.append(sample.start())
    ctx.quiet(spec.name)
    port = free_port()
    server = spec.build(ctx, port, f"{index:02d}-{spec.name}.log")
    rows: list[Row] = []
    log(f"[{spec.name}] starting on port {port}: {' '.join(server.cmd)}")
    with server:
        samples.append(server.start())
        cold = statistics.median(samples)
        time.sleep(SETTLE)
        idle = server.rss_kib()
        each = ", ".join(f"{ms:.0f}" for ms in samples)
        log(
            f"[{spec.name}] first 2xx after {cold:.0f} ms (median of {len(samples)} starts: {each} ms); "
            f"{mib(idle):.1f} MiB idle in {server.nprocs()} process(es)"
        )
        bearer = FAKE_BEARER if spec.fake_bearer else passbox_bearer(port)
        for load in loads:
            req = load_request(load, bearer)
            check(spec.name, load, port, req)
            result, other, attempt, cpu_us, split = measure(ctx, server, req, params, retries)
            if server.proc is not None and server.proc.poll() is not None:
                raise BenchError(f"[{spec.name}] died during the {load} load\n{server.tail()}")
            row = Row(
                spec.name,
                load,
                result,
                cold_ms=cold,
                idle_kib=idle,
                after_kib=server.rss_kib(),
                peak_kib=server.peak_kib(),
                other_cores=other,
                attempt=attempt,
                cpu_us=cpu_us,
                split=split,
            )
            rows.append(row)
            bad = f", {result.non2xx} non-2xx, {result.socket_errors} socket errors" if _errors(result) else ""
            log(
                f"[{spec.name}] {load}: {result.rps:.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                f"p99 {result.p99_ms:.2f} ms{bad}; other processes used {other:.2f} cores"
                + ("" if split == "-" else f"; CPU split between its processes {split}")
            )
            if _errors(result):
                log(f"[{spec.name}] WARNING: errors during {load}; server log tail:\n{server.tail(10)}")
    return rows


def _errors(result: wrk.Result) -> bool:
    return result.non2xx > 0 or result.socket_errors > 0


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}"


def table(rows: list[Row]) -> str:
    floor = {row.load: row for row in rows if row.server == "floor" and row.result is not None}
    head = (
        "| server | load | req/s | req/s ÷ floor | p50 ms | p99 ms | p99 ÷ floor | CPU µs/req | CPU split % "
        "| cold start ms | cold ÷ floor | RSS MiB idle → after (peak) | non-2xx | sock err | other CPU |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        res = row.result
        if res is None:
            lines.append(f"| {row.server} | {row.load} | {row.note} | | | | | | | | | | | | |")
            continue
        base = floor.get(row.load)
        base_res = base.result if base else None
        cells = [
            row.server,
            row.load if row.attempt == 1 else f"{row.load} (try {row.attempt})",
            f"{res.rps:,.0f}",
            _ratio(res.rps, base_res.rps if base_res else None),
            f"{res.p50_ms:.2f}",
            f"{res.p99_ms:.2f}",
            _ratio(res.p99_ms, base_res.p99_ms if base_res else None),
            "-" if row.cpu_us is None else f"{row.cpu_us:.0f}",
            row.split,
            f"{row.cold_ms:.0f}",
            _ratio(row.cold_ms, base.cold_ms if base else None),
            f"{mib(row.idle_kib):.0f} → {mib(row.after_kib):.0f} ({mib(row.peak_kib):.0f})",
            str(res.non2xx),
            str(res.socket_errors),
            f"{row.other_cores:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
