"""How the dashboard is served: one command line for the demo, the tests and the benchmarks.

Headless, bound to the given address, no usage statistics, a minimal toolbar (the wall board
hides the rest of Streamlit's chrome with CSS), no error details on screen (never a traceback
on a TV), no file watching. docker-compose.yml spells out the same flags.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """``python -m streamlit run dashboard/app.py`` with CallPulse's server flags."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", address,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--client.showErrorDetails", "none",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
    ]  # fmt: skip
