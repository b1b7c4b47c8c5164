"""Dashboard benchmark: wall-board build time and Streamlit server CPU with many wall boards.

``python -m bench.bench_dashboard`` (also part of ``make bench``) prints:

1. the server-side time to build the wall board (one pipelined snapshot read + the HTML render)
   for 12 and 50 queues, against a real redis-server filled through the project's store writer;
2. Streamlit server CPU (user + system of the ``streamlit run`` process, from /proc) while 10 and
   30 wall-board sessions refresh every second for 30 s.

Thirty Chromium pages alone saturate a 2-core machine, so the sessions are driven by a light
client that speaks Streamlit's own websocket protocol (``/_stcore/stream``, protobuf ``BackMsg``
and ``ForwardMsg`` from the installed streamlit package): it starts a session like the browser
does and answers each ``auto_rerun`` message (``st.fragment(run_every=…)``) by requesting the
fragment rerun every interval, as the browser's timer does. Each client counts the fragment runs
it received, so the figures say how many refreshes the CPU paid for.

Environment: ``BENCH_DASHBOARD_SECONDS`` (default 30), ``BENCH_DASHBOARD_SESSIONS`` ("10,30").
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis as redis_lib

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import wall  # noqa: E402
from dashboard.data import Source  # noqa: E402
from stream.config import CenterConfig, load_settings  # noqa: E402
from stream.embedded import start_redis  # noqa: E402
from stream.keys import Keys  # noqa: E402
from tests.dashboard import seed  # noqa: E402
from tests.dashboard.browser import streamlit_server  # noqa: E402

BUILD_TARGET_MS = 100.0
CPU_TARGET_CORES = 1.0


def _queues(n: int) -> list[str]:
    return [f"q{i:02d}" for i in range(1, n + 1)]


def build_times(url: str, prefix: str, cfg_path: Path, n: int, now: int, runs: int = 15) -> dict[str, float]:
    """Median and max ms of snapshot read + HTML render of an ``n``-queue group (no cache)."""
    src = Source(load_settings(redis_url=url, key_prefix=prefix, config=cfg_path))
    group = f"g{n}"
    cfg = src.tenant_cfg(seed.TENANT)
    reads, renders, totals = [], [], []
    for i in range(runs + 2):
        t0 = time.perf_counter()
        data = src._wall(seed.TENANT, group, now + i)  # bypass the tick cache: a cold tick
        t1 = time.perf_counter()
        html = wall.render(data, cfg, {q: src.label(seed.TENANT, q) for q in data.queues}, "zh")
        t2 = time.perf_counter()
        assert data.problem is None and data.snapshot is not None, data.problem
        assert len(data.snapshot.queues) == n
        assert 0 < html.count('class="tile ') <= min(n, src.dash.tiles_per_page)
        if i >= 2:  # warm-up
            reads.append((t1 - t0) * 1000)
            renders.append((t2 - t1) * 1000)
            totals.append((t2 - t0) * 1000)
    src.close()
    return {
        "read_ms": statistics.median(reads),
        "render_ms": statistics.median(renders),
        "total_ms": statistics.median(totals),
        "max_ms": max(totals),
    }


# -- a light Streamlit client ------------------------------------------------------------------------------
async def _session(ws_url: str, query: str, stop_at: float, stats: dict[str, int]) -> None:
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None) as ws:  # type: ignore[list-item]
        first = BackMsg()
        first.rerun_script.query_string = query
        await ws.send(first.SerializeToString())
        page_hash = ""
        timers: dict[str, asyncio.Task[None]] = {}

        async def rerun_every(fragment_id: str, interval: float) -> None:
            while time.monotonic() < stop_at:
                await asyncio.sleep(interval)
                msg = BackMsg()
                msg.rerun_script.query_string = query
                msg.rerun_script.page_script_hash = page_hash
                msg.rerun_script.fragment_id = fragment_id
                msg.rerun_script.is_auto_rerun = True
                await ws.send(msg.SerializeToString())

        try:
            while time.monotonic() < stop_at:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=max(0.05, stop_at - time.monotonic()))
                except TimeoutError:
                    break
                fm = ForwardMsg()
                fm.ParseFromString(raw)  # type: ignore[arg-type]
                kind = fm.WhichOneof("type")
                if kind == "new_session":
                    page_hash = fm.new_session.page_script_hash
                elif kind == "auto_rerun":
                    fid = fm.auto_rerun.fragment_id
                    if fid not in timers:
                        timers[fid] = asyncio.create_task(rerun_every(fid, fm.auto_rerun.interval))
                elif kind == "script_finished":
                    stats["runs"] += 1
                elif kind == "delta":
                    stats["deltas"] += 1
                    stats["bytes"] += len(raw)
        finally:
            for task in timers.values():
                task.cancel()


async def _sessions(base: str, n: int, seconds: float, query: str) -> dict[str, int]:
    ws_url = base.replace("http://", "ws://") + "/_stcore/stream"
    stats = {"runs": 0, "deltas": 0, "bytes": 0}
    stop_at = time.monotonic() + seconds + 3  # 3 s to connect and settle, not measured
    await asyncio.gather(*(_session(ws_url, query, stop_at, stats) for _ in range(n)))
    return stats


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(env: dict[str, str], n: int, seconds: float, work: Path) -> dict[str, float]:
    """Streamlit CPU (cores) while ``n`` wall-board sessions refresh for ``seconds``."""
    query = f"view=wall&tenant={seed.TENANT}&group=floor&lang=zh&theme=dark"
    with streamlit_server(env, work) as base:
        pid = _server_pid(base)
        result: dict[str, Any] = {}

        def measure() -> None:
            time.sleep(3)  # sessions connect and run their first full script
            c0, t0 = _cpu_s(pid), time.monotonic()
            time.sleep(seconds)
            result["cores"] = (_cpu_s(pid) - c0) / (time.monotonic() - t0)

        th = threading.Thread(target=measure)
        th.start()
        stats = asyncio.run(_sessions(base, n, seconds, query))
        th.join()
    runs_per_s = stats["runs"] / (seconds + 3)
    kb_per_s = stats["bytes"] / 1024 / (seconds + 3)
    return {"cores": result["cores"], "runs_per_s": runs_per_s, "kb_per_s": kb_per_s}


def _server_pid(base: str) -> int:
    port = base.rsplit(":", 1)[1]
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(cmd) and port.encode() in cmd:
                return int(d.name)
    raise RuntimeError("streamlit server process not found")


def _heartbeat(client: redis_lib.Redis, prefix: str, stop: threading.Event) -> None:
    while not stop.is_set():
        client.hset(Keys(prefix).workers, "bench", int(time.time() * 1000))
        stop.wait(1.0)


def main() -> None:
    seconds = float(os.environ.get("BENCH_DASHBOARD_SECONDS", "30"))
    counts = [int(x) for x in os.environ.get("BENCH_DASHBOARD_SESSIONS", "10,30").split(",")]
    work = Path(tempfile.mkdtemp(prefix="callpulse-bench-dash-"))
    redis = start_redis()
    url = f"redis://127.0.0.1:{redis.port}/0"
    prefix = "cpbench"
    try:
        config = seed.center_config(_queues(50))
        config["tenants"][seed.TENANT]["groups"].update({"g12": _queues(12), "g50": _queues(50)})
        cfg_path = seed.write_config(work / "center.yaml", config)
        now = int(time.time() * 1000)
        events = seed.floor_events(seed.TENANT, _queues(50), now)
        seed.fill(url, prefix, CenterConfig.load(cfg_path), events, now)
        print("CallPulse dashboard bench (wall board)")
        for n in (12, 50):
            r = build_times(url, prefix, cfg_path, n, now)
            print(
                f"  build {n:>2} queues: {r['total_ms']:6.1f} ms median (read {r['read_ms']:.1f} + render "
                f"{r['render_ms']:.1f}), max {r['max_ms']:.1f} ms; target <= {BUILD_TARGET_MS:.0f} ms: "
                f"ratio {r['total_ms'] / BUILD_TARGET_MS:.2f}"
            )
        env = {"CALLPULSE_REDIS_URL": url, "CALLPULSE_KEY_PREFIX": prefix, "CALLPULSE_CONFIG": str(cfg_path)}
        client = redis_lib.Redis.from_url(url)
        stop = threading.Event()
        beat = threading.Thread(target=_heartbeat, args=(client, prefix, stop), daemon=True)
        beat.start()
        try:
            for n in counts:
                r = server_cpu(env, n, seconds, work)
                print(
                    f"  {n:>2} wall-board sessions, {seconds:.0f} s at 1 s refresh: Streamlit CPU "
                    f"{r['cores']:.2f} cores; {r['runs_per_s']:.1f} fragment runs/s delivered "
                    f"({r['runs_per_s'] / n:.2f} per session per s), {r['kb_per_s']:.0f} KiB/s; "
                    f"target < {CPU_TARGET_CORES:.1f} core: ratio {r['cores'] / CPU_TARGET_CORES:.2f}"
                )
        finally:
            stop.set()
            beat.join()
            client.close()
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
