"""Start ``streamlit run dashboard/app.py`` on a free port and Debian's Chromium (Playwright)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

from dashboard.server import streamlit_command
from stream.embedded import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def streamlit_server(env: Mapping[str, str], log_dir: Path) -> Iterator[str]:
    """``streamlit run`` as a subprocess with the given CALLPULSE_* env; yields its base URL."""
    port = free_port()
    log = (log_dir / f"streamlit-{port}.log").open("ab")
    cmd = streamlit_command(port)
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        wait_port(port, timeout=60, proc=proc)  # type: ignore[arg-type]
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r,
            ):  # noqa: S310
                if r.status == 200:
                    break
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def launch_chromium(pw):  # noqa: ANN001, ANN201
    return pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
