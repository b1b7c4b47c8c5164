"""Run the whole pipeline locally: broker, Redis, workers as processes; feed it; wait for it.

Shared by ``python -m stream replay`` (backfills), ``python -m stream demo``, the benchmarks and
the end-to-end tests, so they all exercise the same real path: Kafka protocol -> Faust worker ->
Redis. "Caught up" is decided from the offsets the worker stores in Redis with each batch, not
from the broker's end offsets (Tansu misreports those after multi-record batches).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import redis as redis_lib

from stream.embedded import Proc, stop_process
from stream.keys import Keys


@dataclass
class WorkerProc:
    """A ``python -m stream worker`` subprocess."""

    worker_id: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.popen.kill()
            self.popen.wait(10)

    def stop(self, grace: float = 8.0) -> None:
        stop_process(self.popen, grace)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def start_worker(env: Mapping[str, str], worker_id: str, log_dir: Path | None = None) -> WorkerProc:
    """Start a worker with ``CALLPULSE_*`` settings from ``env`` (on top of os.environ)."""
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="callpulse-worker-"))
    log_path = log_dir / f"worker-{worker_id}.log"
    full = {**os.environ, **env, "CALLPULSE_WORKER_ID": worker_id, "PYTHONUNBUFFERED": "1"}
    root = str(Path(__file__).resolve().parent.parent)
    full["PYTHONPATH"] = root + (os.pathsep + full["PYTHONPATH"] if full.get("PYTHONPATH") else "")
    with log_path.open("ab") as log:
        popen = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "stream", "worker"],
            env=full,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=root,
        )
    return WorkerProc(worker_id, popen, log_path)


def stack_env(tansu: Proc, redis: Proc, db: int = 0, **extra: str) -> dict[str, str]:
    """The settings environment pointing a worker at a local broker and Redis (database ``db``)."""
    return {
        "CALLPULSE_KAFKA_BROKER": f"kafka://127.0.0.1:{tansu.port}",
        "CALLPULSE_REDIS_URL": f"redis://127.0.0.1:{redis.port}/{db}",
        **extra,
    }


class CatchUpTimeout(RuntimeError):
    """The worker did not process up to the produced offsets in time."""


def wait_caught_up(
    client: redis_lib.Redis,
    keys: Keys,
    topic: str,
    last_offsets: Mapping[int, int],
    *,
    timeout: float = 60.0,
    worker: WorkerProc | None = None,
) -> None:
    """Block until the worker has processed every offset up to ``last_offsets`` (inclusive)."""
    deadline = time.monotonic() + timeout
    want = {int(p): int(o) + 1 for p, o in last_offsets.items()}
    while True:
        raw = client.hgetall(keys.offsets(topic))
        done = {int(k): int(v) for k, v in raw.items()}  # type: ignore[union-attr]
        if all(done.get(p, 0) >= o for p, o in want.items()):
            return
        if worker is not None and not worker.alive():
            msg = f"worker exited ({worker.popen.returncode}):\n{worker.log_tail()}"
            raise CatchUpTimeout(msg)
        if time.monotonic() > deadline:
            lag = {p: o - done.get(p, 0) for p, o in want.items() if done.get(p, 0) < o}
            msg = f"worker did not catch up on {topic} within {timeout}s; lag per partition {lag}"
            raise CatchUpTimeout(msg)
        time.sleep(0.05)
