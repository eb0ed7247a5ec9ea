"""Retention and soak: does passbox's memory stay flat under many creates, and its latency under hours of load?

Retention: N SEEK Pass creates with magic request ids (``sandbox:verified:<n>``, finished at once,
so they fall under retention: kept at most PASSBOX_MAX_RECORDS, default 10000, and
PASSBOX_RETENTION_SECONDS), as fast as wrk can send them, with the RSS read at each checkpoint.

Soak: a sustained mixed load (create, applicant token, list webhooks, in turn) for --soak seconds,
as back-to-back wrk runs (first 30 s, the middle, last 30 s) so the first and last 30 s have their
own percentiles.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from bench import wrk
from bench.matrix import log
from bench.procs import BenchError, CpuMeter, Req, Server, free_port, mib, send
from bench.servers import (
    CREATE_PATH,
    VERIFIED_CREATE_FORMAT,
    Context,
    create_request,
    passbox_bearer,
    passbox_cmd,
    passbox_module,
    read_request,
    store_url,
    token_request,
)

RETIRE_SETTLE = 7.0  # passbox sweeps retention every 5 wall seconds; wait for one sweep after each batch
MIN_RATE = 150.0  # creates/s assumed when bounding a batch's wrk run; a slower server sends fewer, and says so
WINDOW = 30.0
RSS_TARGET = 1.20
P99_TARGET = 1.5


@dataclass
class Checkpoint:
    target: int
    sent: int
    seconds: float
    rps: float
    p99_ms: float
    bad: int
    rss_kib: int
    kept: str
    db_mib: float | None
    other_cores: float


@dataclass
class Segment:
    label: str
    result: wrk.Result
    rss_kib: int
    other_cores: float


def _server(ctx: Context, store: str, tag: str) -> tuple[Server, str]:
    port = free_port()
    url = store_url(ctx, store, tag)
    cmd, env = passbox_cmd(ctx, url, port), passbox_module(ctx.source)[1]
    server = Server(f"passbox-{store}", cmd, port, token_request(), cwd=ctx.source, log=ctx.tmp / f"{tag}.log", env=env)
    return server, url


def _kept(port: int) -> str:
    """How many SEEK Pass requests the demo partner holds now, from the control plane (or '?')."""
    try:
        status, body = send(port, Req("GET", "/_sandbox/seekpass/partners"))
        if status != 200:
            return "?"
        for partner in json.loads(body):
            if partner.get("client_id") == "passbox-demo-client":
                counts = partner.get("counts") or {}
                value = counts.get("requests", partner.get("requests"))
                return "?" if value is None else str(value)
    except (OSError, ValueError, AttributeError):
        pass
    return "?"


def _check_magic(name: str, port: int, bearer: str) -> None:
    body = (VERIFIED_CREATE_FORMAT % 0).encode()
    status, answer = send(port, create_request(bearer, body))
    if status != 201:
        raise BenchError(f"[{name}] magic create answered {status}: {answer[:400]!r}")
    rid = json.loads(answer)["request_id"]
    status, answer = send(
        port, Req("GET", f"/api/partner/v2/verify/requests/{rid}", {"Authorization": f"Bearer {bearer}"})
    )
    if status != 200 or b"verified" not in answer:
        raise BenchError(f"[{name}] the magic request is not verified at once ({status}): {answer[:400]!r}")


def retention(ctx: Context, store: str, checkpoints: list[int], params: wrk.Params) -> tuple[int, list[Checkpoint]]:
    tag = f"retention-{store}"
    ctx.quiet(f"passbox-{store}")
    server, _ = _server(ctx, store, tag)
    out: list[Checkpoint] = []
    log(f"[{server.name}] retention: {', '.join(f'{n:,}' for n in checkpoints)} creates")
    with server:
        server.start()
        bearer = passbox_bearer(server.port)
        _check_magic(server.name, server.port, bearer)
        time.sleep(0.5)
        idle = server.rss_kib()
        headers = create_request(bearer).headers
        sent, counter = 0, 1
        for target in checkpoints:
            todo = target - sent
            if todo <= 0:
                continue
            done = ctx.tmp / f"{tag}-{target}.done"
            script = wrk.numbered_creates_script(CREATE_PATH, headers, VERIFIED_CREATE_FORMAT, counter, todo, done)
            cap = max(60.0, todo / MIN_RATE)
            start = time.monotonic()
            meter = CpuMeter(server.pid, ctx.postgres_pid())
            result = wrk.run(server.port, script, cap, params, path=CREATE_PATH, done_file=done)
            other = meter.other_cores()
            seconds = time.monotonic() - start
            got = result.extra.get("responses", result.requests)
            counter = result.extra.get("counter", counter + got) + 1
            sent += got
            if server.proc is not None and server.proc.poll() is not None:
                raise BenchError(f"[{server.name}] died during the creates\n{server.tail()}")
            time.sleep(RETIRE_SETTLE)
            db = sum(p.stat().st_size for p in ctx.tmp.glob(f"{tag}.db*")) / 2**20 if store == "sqlite" else None
            point = Checkpoint(
                target,
                sent,
                seconds,
                got / seconds,
                result.p99_ms,
                result.extra.get("bad", result.non2xx),
                server.rss_kib(),
                _kept(server.port),
                db,
                other,
            )
            out.append(point)
            log(
                f"[{server.name}] {sent:,} creates ({point.rps:.0f}/s, {point.bad} non-2xx): "
                f"RSS {mib(point.rss_kib):.1f} MiB, requests kept {point.kept}"
            )
            if sent < target:
                log(f"[{server.name}] WARNING: only {sent:,} of {target:,} creates within the {cap:.0f} s bound")
    return idle, out


def soak(ctx: Context, store: str, seconds: float, params: wrk.Params) -> list[Segment]:
    if seconds < 2 * WINDOW:
        raise BenchError(f"--soak needs at least {2 * WINDOW:.0f} seconds (first and last {WINDOW:.0f} s)")
    ctx.quiet(f"passbox-{store}")
    server, _ = _server(ctx, store, f"soak-{store}")
    segments: list[Segment] = []
    log(f"[{server.name}] soak: {seconds:.0f} s of mixed load")
    with server:
        server.start()
        bearer = passbox_bearer(server.port)
        _check_magic(server.name, server.port, bearer)
        mixed = [token_request(), create_request(bearer), read_request(bearer)]
        counter = 1
        if params.warmup > 0:
            script = wrk.mixed_script(mixed, 1, VERIFIED_CREATE_FORMAT, counter)
            counter = wrk.run(server.port, script, params.warmup, params).extra.get("counter", 0) + 1
        plan = [(f"first {WINDOW:.0f} s", WINDOW), (f"middle {seconds - 2 * WINDOW:.0f} s", seconds - 2 * WINDOW)]
        plan.append((f"last {WINDOW:.0f} s", WINDOW))
        for label, length in plan:
            if length < 1:
                continue
            script = wrk.mixed_script(mixed, 1, VERIFIED_CREATE_FORMAT, counter)
            meter = CpuMeter(server.pid, ctx.postgres_pid())
            result = wrk.run(server.port, script, length, params)
            other = meter.other_cores()
            counter = result.extra.get("counter", counter) + 1
            if server.proc is not None and server.proc.poll() is not None:
                raise BenchError(f"[{server.name}] died during the soak\n{server.tail()}")
            segments.append(Segment(label, result, server.rss_kib(), other))
            bad = result.extra.get("bad", result.non2xx)
            log(
                f"[{server.name}] {label}: {result.rps:.0f} req/s, p99 {result.p99_ms:.2f} ms, {bad} non-2xx; "
                f"other processes used {other:.2f} cores"
            )
    return segments


def retention_table(results: dict[str, tuple[int, list[Checkpoint]]]) -> str:
    lines = [
        "| store | creates | creates/s | p99 ms | non-2xx | kept | RSS MiB | RSS ÷ first | DB MiB | other CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for store, (idle, points) in results.items():
        lines.append(f"| {store} | 0 (idle) | | | | | {mib(idle):.1f} | | | |")
        first = points[0].rss_kib if points else 0
        for p in points:
            ratio = f"{p.rss_kib / first:.2f}" if first else "-"
            db = f"{p.db_mib:.1f}" if p.db_mib is not None else ""
            lines.append(
                f"| {store} | {p.sent:,} | {p.rps:,.0f} | {p.p99_ms:.2f} | {p.bad} | {p.kept} | "
                f"{mib(p.rss_kib):.1f} | {ratio} | {db} | {p.other_cores:.2f} |"
            )
    return "\n".join(lines)


def soak_table(results: dict[str, list[Segment]]) -> str:
    lines = [
        "| store | window | req/s | p50 ms | p99 ms | p99 ÷ first 30 s | non-2xx | RSS MiB after | other CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for store, segments in results.items():
        first = segments[0].result.p99_ms if segments else 0.0
        for seg in segments:
            r = seg.result
            ratio = f"{r.p99_ms / first:.2f}" if first else "-"
            bad = r.extra.get("bad", r.non2xx)
            lines.append(
                f"| {store} | {seg.label} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {ratio} | {bad} | "
                f"{mib(seg.rss_kib):.1f} | {seg.other_cores:.2f} |"
            )
    return "\n".join(lines)


def verdicts(retained: dict[str, tuple[int, list[Checkpoint]]], soaked: dict[str, list[Segment]]) -> list[str]:
    out = []
    for store, (_, points) in retained.items():
        if len(points) >= 2 and points[0].rss_kib:
            ratio = points[-1].rss_kib / points[0].rss_kib
            verdict = "within" if ratio <= RSS_TARGET else "OVER"
            out.append(
                f"- {store}: RSS after {points[-1].sent:,} creates ÷ after {points[0].sent:,} = {ratio:.2f} "
                f"({verdict} the {RSS_TARGET:.2f} target)"
            )
    for store, segments in soaked.items():
        if len(segments) >= 2 and segments[0].result.p99_ms:
            ratio = segments[-1].result.p99_ms / segments[0].result.p99_ms
            verdict = "within" if ratio <= P99_TARGET else "OVER"
            out.append(f"- {store}: soak p99 last 30 s ÷ first 30 s = {ratio:.2f} ({verdict} the {P99_TARGET} target)")
    return out
