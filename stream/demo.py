"""``python -m stream demo`` (``make demo``): the whole product on one machine, stopped by Ctrl-C.

Starts Tansu (Kafka protocol), a private redis-server, one worker (with the alert rules), the
simulator — first a fast backfill of today so far, so the manager views have a history, then the
same center in real time so the wall board moves like a live floor — and the Streamlit
dashboard. Prints what runs where. Everything is a child process and is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dashboard.server import streamlit_command
from stream.embedded import Proc, free_port, start_redis, start_tansu, stop_process, wait_port
from stream.stack import WorkerProc, stack_env, start_worker
from stream.topics import ensure_topics

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "callpulse.example.yaml"
ALERT_RULES = ROOT / "config" / "alerts.yaml"
DEMO_TZ = ZoneInfo("Asia/Shanghai")  # the simulator's base center (simulators/configs/base.yaml)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as f:
        return subprocess.Popen(  # noqa: S603 - our own modules, fixed argv
            args, env=env, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(p: subprocess.Popen[bytes] | Proc | WorkerProc | None) -> None:
    if isinstance(p, Proc | WorkerProc):
        p.stop()
    elif p is not None:
        stop_process(p, 8.0)


def run_demo(args: argparse.Namespace) -> int:
    logs = ROOT / ".demo"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    procs: list[subprocess.Popen[bytes] | Proc | WorkerProc] = []
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        print("CallPulse demo — starting…", flush=True)
        tansu = start_tansu(log_dir=logs)
        procs.append(tansu)
        redis = start_redis(data_dir=logs / "redis")
        procs.append(redis)
        env = {
            **os.environ,
            **stack_env(tansu, redis),
            "CALLPULSE_CONFIG": str(DEMO_CONFIG),
            "CALLPULSE_DASHBOARD_URL": f"http://127.0.0.1:{args.port}",
            "PYTHONPATH": str(ROOT),
        }
        if ALERT_RULES.exists():
            env["CALLPULSE_ALERTS_RULES"] = str(ALERT_RULES)
        asyncio.run(
            ensure_topics(env["CALLPULSE_KAFKA_BROKER"], {"callpulse.events": 8, "callpulse.deadletter": 1})
        )
        worker = start_worker(env, "demo-worker", logs)
        procs.append(worker)

        # Backfill today (local) up to now at full speed, then run live from now.
        now = datetime.now(DEMO_TZ)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        minutes = max(1, int((now - midnight).total_seconds() // 60))
        sim = [
            sys.executable,
            "-m",
            "simulators",
            "run",
            "--broker",
            env["CALLPULSE_KAFKA_BROKER"],
            "--topic",
            "callpulse.events",
            "--progress-every",
            "30",
        ]
        print(f"  backfilling today 00:00–{now:%H:%M} (Asia/Shanghai) at full speed…", flush=True)
        backfill = _spawn(
            [*sim, "--start", "today", "--duration", f"{minutes}m", "--speed", "max", "--batch", "100", "-q"],
            env,
            logs / "backfill.log",
        )
        procs.append(backfill)
        live = None
        dash_port = args.port if _free(args.port) else free_port()
        dashboard = _spawn(streamlit_command(dash_port), env, logs / "dashboard.log")
        procs.append(dashboard)
        wait_port(dash_port, timeout=60, proc=dashboard)
        base = f"http://127.0.0.1:{dash_port}"
        query = (
            f"CALLPULSE_REDIS_URL=redis://127.0.0.1:{redis.port}/0 "
            f"CALLPULSE_CONFIG={DEMO_CONFIG.relative_to(ROOT)} "
            ".venv/bin/python -m stream query --tenant demo --window today"
        )
        alerts = env.get("CALLPULSE_ALERTS_RULES", "off")
        print(
            f"""
  broker (Tansu, Kafka protocol)  kafka://127.0.0.1:{tansu.port}
  redis                           redis://127.0.0.1:{redis.port}/0
  worker                          pid {worker.popen.pid}   (alerts: {alerts})
  simulator                       tenant "demo", base center, real time after the backfill
  dashboard                       {base}/
  wall board (TV)                 {base}/?view=wall&tenant=demo&group=floor&lang=zh&theme=dark
  wall board (English)            {base}/?view=wall&tenant=demo&group=floor&lang=en&theme=dark
  query                           {query}
  logs                            {logs.relative_to(ROOT)}/

Press Ctrl-C to stop everything.""",
            flush=True,
        )
        while not stopping:
            if backfill.poll() is not None and live is None:
                print("  backfill done; simulator now live (real time).", flush=True)
                live = _spawn(
                    [*sim, "--start", "now", "--speed", str(args.speed), "--seed", "1"],
                    env,
                    logs / "simulator.log",
                )
                procs.append(live)
            for p in (worker.popen, dashboard, live):
                if p is not None and p.poll() is not None and p.returncode not in (0, None):
                    print(
                        f"  a component exited with {p.returncode}: see {logs.relative_to(ROOT)}/", flush=True
                    )
                    stopping = True
            time.sleep(0.5)
        print("\nstopping…", flush=True)
        return 0
    finally:
        for proc in reversed(procs):
            _stop(proc)
        print("stopped.", flush=True)


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
