"""Where passbox's event loop stalls: ``python -m bench.stalls [--store URL] [--loads create,read]``.

Runs passbox in this process (uvicorn with httptools and uvloop, as ``passbox serve``), drives it
with wrk from a thread, one load after another on the same server (as the comparison table
does), and has a watchdog thread look at the loop every 2 ms. The loop ticks every 1 ms; when a
tick is more than ``--threshold-ms`` late, the watchdog takes the loop thread's stack (once per
stall). Printed per load: req/s, p99, and the stacks that stalled the loop, most frequent first.
This is how the retention cap's walk over every record was found (55afb24). A stall is seen
when it is over, from its stack during it: a stack that shows only the event loop means the
time went to uvicorn/httptools or the loop itself.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from bench import wrk
from bench.procs import BenchError, free_port
from bench.servers import REPO, load_request, passbox_bearer

TICK = 0.001  # seconds between the loop's heartbeats
LOOK = 0.002  # seconds between the watchdog's looks
FRAMES = 10  # innermost frames of ours (passbox, sqlite, psycopg) kept per stack


def _ours(frame: traceback.FrameSummary) -> bool:
    return any(part in frame.filename for part in ("passbox", "sqlite", "psycopg", "starlette", "uvicorn"))


def _stack(frame: FrameType | None) -> str:
    if frame is None:
        return "(no frame)"
    summary = [f for f in traceback.extract_stack(frame) if _ours(f)]
    if not summary:
        return "(the event loop itself)"
    return " <- ".join(f"{f.name} ({Path(f.filename).name}:{f.lineno})" for f in reversed(summary[-FRAMES:]))


class Watchdog:
    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.beat = time.monotonic()
        self.phase = "start-up"
        self.stalls: dict[str, Counter[str]] = {}
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()

    def tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.beat = time.monotonic()
        if not self._stop.is_set():
            loop.call_later(TICK, self.tick, loop)

    def watch(self) -> None:
        reported = 0.0
        while not self._stop.wait(LOOK):
            beat = self.beat
            if time.monotonic() - beat > self.threshold and beat != reported:
                reported = beat
                stack = _stack(sys._current_frames().get(self._loop_thread))
                self.stalls.setdefault(self.phase, Counter())[stack] += 1

    def stop(self) -> None:
        self._stop.set()


def drive(server: Any, port: int, loads: list[str], duration: float, dog: Watchdog, out: list[str]) -> None:
    try:
        while not server.started:
            time.sleep(0.05)
        bearer = passbox_bearer(port)
        params = wrk.Params(duration=duration)
        for load in loads:
            req = load_request(load, bearer)
            dog.phase = f"{load} (warmup)"
            wrk.warm_up(port, req, params)
            dog.phase = load
            result = wrk.run(port, wrk.static_script(req), duration, params, path=req.path)
            dog.phase = "between loads"
            found = dog.stalls.get(load, Counter())
            out.append(
                f"## {load}: {result.rps:,.0f} req/s, p99 {result.p99_ms:.2f} ms, "
                f"{sum(found.values())} stalls over {dog.threshold * 1000:.0f} ms"
            )
            out += [f"- {count}x {stack}" for stack, count in found.most_common(12)]
    except BenchError as exc:
        out.append(f"failed: {exc}")
    finally:
        server.should_exit = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stalls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file in a temp dir)")
    parser.add_argument("--loads", default="create,read", help="comma-separated: token,create,read")
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per load (default: 8)")
    parser.add_argument("--threshold-ms", type=float, default=6.0, help="a tick this late is a stall (default: 6)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "sandbox"))
    import uvicorn

    from passbox.app import create_app
    from passbox.server import PROTOCOL
    from passbox.settings import Settings

    with tempfile.TemporaryDirectory(prefix="passbox-stalls-") as tmp:
        store = args.store or f"sqlite:///{tmp}/stalls.db"
        dog = Watchdog(args.threshold_ms / 1000)
        port = free_port()
        app = create_app(Settings(store_url=store, seed=1))

        class Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                dog.tick(asyncio.get_running_loop())
                await super().startup(sockets)

        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=PROTOCOL, access_log=False)
        server = Server(config)
        out: list[str] = [f"# loop stalls: {store}, {args.loads}, {args.duration:.0f} s a load"]
        loads = [load.strip() for load in args.loads.split(",") if load.strip()]
        threading.Thread(target=dog.watch, daemon=True).start()
        driver = threading.Thread(target=drive, args=(server, port, loads, args.duration, dog, out), daemon=True)
        driver.start()
        server.run()
        dog.stop()
        driver.join(timeout=5)
        app.state.sandbox.core.store.close()
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
