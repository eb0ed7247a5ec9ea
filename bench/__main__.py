"""``python -m bench``: the comparison table; ``python -m bench retention``: memory and latency over time.

Run it from the repository root with the repo's venv (``bench/run`` does both). See bench/README.md.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench import about, matrix, retention, wrk
from bench.procs import NOISE, BenchError
from bench.servers import LOAD_DESCRIPTIONS, LOADS, REPO, Context, describe_source, snapshot, specs

RESULTS = REPO / "bench" / "results.md"
RETENTION_RESULTS = REPO / "bench" / "results-retention.md"


def _ints(text: str) -> list[int]:
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"need positive integers: {text!r}")
    return values


def _checkpoints(text: str) -> list[int]:
    return [] if text.strip() == "0" else _ints(text)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _common(parser: argparse.ArgumentParser, connections: int) -> None:
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default: 1)")
    parser.add_argument(
        "--connections", type=int, default=connections, help=f"wrk connections (default: {connections})"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="unreported wrk warmup, seconds (default: 2)")
    parser.add_argument(
        "--source",
        default="worktree",
        help="which passbox to serve: 'worktree' (the repo as it is, default), a git revision such as HEAD "
        "(exported to a temp dir with git archive; the repo is only read), or a directory",
    )
    parser.add_argument("--log-level", default="warning", help="passbox --log-level (default: warning)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="before each server, wait up to this many seconds for other processes to use < 0.15 cores "
        "(default: 60; 0: do not wait)",
    )
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (server logs, SQLite files)")
    parser.add_argument("--write", action="store_true", help="also write the output to bench/results*.md")


def table_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Start each server on 127.0.0.1 one at a time, run the same wrk loads against each, and print "
        "one markdown table with ratios to a bare Starlette floor measured in the same run. "
        "Also: `python -m bench retention --help`.",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per load (default: 10)")
    parser.add_argument(
        "--servers",
        type=_names,
        default=None,
        help="comma-separated: floor, floor-one-write, passbox-memory, passbox-sqlite, passbox-postgres, prism "
        "(default: all; ratios need floor)",
    )
    parser.add_argument("--loads", type=_names, default=list(LOADS), help="comma-separated: token,create,read")
    parser.add_argument(
        "--workers",
        type=_ints,
        default=[1],
        help="worker counts for the passbox-sqlite and passbox-postgres rows, e.g. 1,2 (default: 1)",
    )
    parser.add_argument("--keep-going", action="store_true", help="mark a failing server FAILED and go on")
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="measure a load again (at most this many times) when other processes used >= 0.15 cores during it; "
        "the quietest attempt is kept (default: 2)",
    )
    parser.add_argument(
        "--starts",
        type=int,
        default=5,
        help="cold starts measured per server, the median reported (default: 5; the last is the loads' server)",
    )
    _common(parser, connections=8)
    return parser


def retention_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench retention",
        description="Send N finished SEEK Pass creates to a passbox server and read its RSS at each checkpoint; "
        "then (with --soak) a sustained mixed load, comparing p99 of the first and last 30 s.",
    )
    parser.add_argument(
        "--creates",
        type=_checkpoints,
        default=[100_000, 500_000],
        help="cumulative checkpoints (default: 100000,500000; 0: none, soak only)",
    )
    parser.add_argument(
        "--stores", type=_names, default=["memory", "sqlite"], help="memory, sqlite, postgres (default: memory,sqlite)"
    )
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of mixed load per store (0: none; min 60)")
    _common(parser, connections=16)
    return parser


def _context(args: argparse.Namespace, tmp: Path) -> tuple[Context, str]:
    source = args.source
    if source == "worktree":
        path, rev = REPO, None
    elif Path(source).is_dir():
        path, rev = Path(source).resolve(), None
    else:
        path, rev = snapshot(source, tmp / "source"), source
    ctx = Context(python=sys.executable, source=path, tmp=tmp, log_level=args.log_level, wait_quiet=args.wait_quiet)
    return ctx, describe_source(path, rev)


def _emit(text: str, path: Path, write: bool) -> None:
    print(text)
    if write:
        path.write_text(text + "\n")
        print(f"(written to {path.relative_to(REPO)})", file=sys.stderr)


def main_table(argv: list[str]) -> int:
    args = table_parser().parse_args(argv)
    unknown = set(args.loads) - set(LOADS)
    if unknown:
        raise BenchError(f"unknown load(s): {', '.join(sorted(unknown))}")
    chosen = specs(args.workers)
    if args.servers is not None:
        names = {spec.name for spec in chosen}
        missing = [s for s in args.servers if not any(n == s or n.startswith(s + "-w") for n in names)]
        if missing:
            raise BenchError(f"unknown server(s): {', '.join(missing)}; known: {', '.join(sorted(names))}")
        chosen = [s for s in chosen if any(s.name == n or s.name.startswith(n + "-w") for n in args.servers)]
    params = wrk.Params(args.threads, args.connections, args.warmup, args.duration)
    load_before = about.loadavg()
    tmp = Path(tempfile.mkdtemp(prefix="passbox-bench-"))
    ctx = None
    try:
        ctx, source = _context(args, tmp)
        rows = matrix.run(ctx, chosen, args.loads, params, args.keep_going, args.retries, max(args.starts, 1))
        pg_pid = ctx.postgres_pid()
    finally:
        if ctx is not None:
            ctx.close()
        _cleanup(tmp, args.keep_tmp)
    head = about.header(
        f"bench: wrk -t{params.threads} -c{params.connections}, {params.warmup:g} s warmup + {params.duration:g} s",
        load_before,
    )
    notes = [f"- {load}: {LOAD_DESCRIPTIONS[load]}" for load in args.loads]
    notes.append(f"- {source}; {about.versions()}")
    disturbed = [f"{r.server}/{r.load}" for r in rows if r.result is not None and r.other_cores >= NOISE]
    if disturbed:
        notes.append(
            f"- measured while other processes used >= {NOISE} cores (see other CPU; take with care): "
            + ", ".join(disturbed)
        )
    if pg_pid is not None:
        notes.append("- passbox-postgres RSS is passbox's processes only (the PostgreSQL server is not counted)")
    text = "\n".join([head, "", matrix.table(rows), "", *notes])
    _emit(text, RESULTS, args.write)
    return 0


def main_retention(argv: list[str]) -> int:
    args = retention_parser().parse_args(argv)
    unknown = set(args.stores) - {"memory", "sqlite", "postgres"}
    if unknown:
        raise BenchError(f"unknown store(s): {', '.join(sorted(unknown))}")
    params = wrk.Params(args.threads, args.connections, args.warmup, 0)
    load_before = about.loadavg()
    tmp = Path(tempfile.mkdtemp(prefix="passbox-bench-"))
    ctx = None
    retained: dict[str, tuple[int, list[retention.Checkpoint]]] = {}
    soaked: dict[str, list[retention.Segment]] = {}
    try:
        ctx, source = _context(args, tmp)
        for store in args.stores if args.creates else []:
            retained[store] = retention.retention(ctx, store, sorted(args.creates), params)
        if args.soak:
            for store in args.stores:
                soaked[store] = retention.soak(ctx, store, args.soak, params)
    finally:
        if ctx is not None:
            ctx.close()
        _cleanup(tmp, args.keep_tmp)
    parts = [
        about.header(f"bench retention: wrk -t{params.threads} -c{params.connections}, default retention", load_before),
    ]
    if retained:
        parts += ["", retention.retention_table(retained)]
    if soaked:
        parts += ["", f"Soak: {args.soak:g} s of mixed load (create with a magic verified id, token, read in turn)", ""]
        parts.append(retention.soak_table(soaked))
    parts += ["", *retention.verdicts(retained, soaked), f"- {source}; {about.versions(include_peers=False)}"]
    _emit("\n".join(parts), RETENTION_RESULTS, args.write)
    return 0


def _cleanup(tmp: Path, keep: bool) -> None:
    if keep:
        print(f"(temp dir kept: {tmp})", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the servers' context managers, which stop them


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _on_term)
    try:
        if argv and argv[0] == "retention":
            return main_retention(argv[1:])
        return main_table(argv)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
