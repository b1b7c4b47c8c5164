"""A real local HTTP endpoint for Apprise's ``json://`` form: records what it receives.

``mode`` decides the answer: ``ok`` (200), ``fail`` (500), ``hang`` (sleeps ``hang_s`` before
answering 200, longer than the sender's timeout) or ``stuck`` (holds the request until
:meth:`release`, then answers 200 and counts it as received). Runs in a thread on 127.0.0.1, a
free port.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Hook:
    def __init__(self) -> None:
        self.mode = "ok"
        self.hang_s = 3.0
        self.received: list[dict[str, Any]] = []  # accepted messages (answered 200)
        self.attempts: list[dict[str, Any]] = []  # every request, whatever the answer
        self._lock = threading.Lock()
        self.released = threading.Event()
        self.inflight = 0  # requests being held right now
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                body["_path"] = self.path
                body["_at_ms"] = time.time() * 1000
                mode = hook.mode
                with hook._lock:
                    hook.attempts.append(body)
                if mode == "hang":
                    time.sleep(hook.hang_s)
                if mode == "stuck":
                    with hook._lock:
                        hook.inflight += 1
                    hook.released.wait(60)
                    with hook._lock:
                        hook.inflight -= 1
                        hook.received.append(body)
                if mode == "fail":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"boom")
                    return
                if mode == "ok":
                    with hook._lock:
                        hook.received.append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a sender that timed out and hung up (hang mode) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def messages(self, path: str | None = None, contains: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            got = list(self.received)
        return [
            m
            for m in got
            if (path is None or m["_path"] == f"/{path}")
            and (contains is None or contains in m.get("title", "") + m.get("message", ""))
        ]

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
