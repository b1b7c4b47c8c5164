"""Delivery through Apprise, apart from event processing: outbox -> worker threads -> chat.

Apprise is synchronous, so sends run in a thread pool of their own (never on the Faust event
loop) with connect/read timeouts. Each outbox message is one (notification, channel) pair:
:meth:`Deliverer.deliver_due` claims one (atomically, with a lease), sends it, and then removes
it, or schedules a retry after ``base * 2^(attempt-1)`` seconds (capped), recording the failure
in ``<prefix>:alert:delivery_failures``. After the last attempt the message is dropped and the
failure recorded with ``gave_up: true``.

Channel URLs are secrets: they are read from the environment at send time and never logged;
errors are masked (:func:`mask`) before they are logged or stored.
"""

from __future__ import annotations

import logging
import random
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from stream.alerts.messages import test_message
from stream.alerts.rules import RulesFile
from stream.alerts.state import AlertStore, Claimed
from stream.errors import CallPulseError
from stream.keys import Keys

log = logging.getLogger(__name__)

#: Apprise notification type per message kind (colours/icons in the chat).
NOTIFY_TYPES = {"firing": "failure", "repeat": "warning", "resolved": "success", "test": "info"}


class DeliveryError(CallPulseError):
    """A send failed; the message is already masked."""


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret URL and its credential-like parts replaced by ``***``."""
    parts: set[str] = set()
    for url in secrets:
        if not url:
            continue
        parts.add(url)
        try:
            u = urlsplit(url)
        except ValueError:
            continue
        for p in (u.username, u.password, unquote(u.password or "")):
            if p:
                parts.add(p)
        parts.update(seg for seg in u.path.split("/") if len(seg) >= 6)
        parts.update(v for _, v in parse_qsl(u.query) if len(v) >= 6)
        if u.netloc and "@" in u.netloc:
            parts.add(u.netloc.split("@", 1)[0])
    for p in sorted(parts, key=len, reverse=True):
        text = text.replace(p, "***")
    return text


def redact_url(url: str) -> str:
    """What may be shown of a channel URL: its scheme only (``json://***``)."""
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://***"


class _ThreadCapture(logging.Handler):
    """Collects Apprise's warnings per thread, for the error text of a failed send."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.buffers: dict[int, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        buf = self.buffers.get(threading.get_ident())
        if buf is not None:
            buf.append(record.getMessage())


_capture = _ThreadCapture()
logging.getLogger("apprise").addHandler(_capture)


def _load_plugins() -> None:
    """Load Apprise's plugins once, now: its e-mail plugin imports ``imghdr``, which Python 3.11
    flags as deprecated; loading lazily would raise that warning in a send thread (and as an
    error under the test suite's ``filterwarnings = error``). Not our code, so silenced here."""
    from apprise.apprise import N_MGR

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*imghdr.*", category=DeprecationWarning)
        N_MGR.load_modules()


_load_plugins()


def apprise_send(url: str, title: str, body: str, kind: str, timeout_s: float) -> None:
    """Send one message with Apprise; raise :class:`DeliveryError` (masked) on failure."""
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        msg = f"not a valid Apprise URL ({redact_url(url)})"
        raise DeliveryError(msg)
    plugin.socket_connect_timeout = min(timeout_s, 5.0)
    plugin.socket_read_timeout = timeout_s
    me = threading.get_ident()
    _capture.buffers[me] = []
    err = None
    try:
        ok = plugin.notify(body=body, title=title, notify_type=NOTIFY_TYPES.get(kind, "info"))
    except Exception as e:  # noqa: BLE001 - a plugin bug must become a recorded failure
        ok, err = False, f"{type(e).__name__}: {e}"
    finally:
        lines = _capture.buffers.pop(me, [])
    if not ok:
        detail = err or "; ".join(lines) or "the service did not accept the message"
        raise DeliveryError(mask(detail, [url])[:500])


Sender = Callable[[str, str, str, str, float], None]


class Deliverer:
    """Sends due outbox messages. Thread-safe: several threads may call :meth:`deliver_due`."""

    def __init__(
        self,
        store: AlertStore,
        keys: Keys,
        rules_file: RulesFile,
        *,
        environ: Mapping[str, str],
        env_prefix: str,
        now: Callable[[], int],
        timeout_s: float,
        max_attempts: int,
        retry_base_s: float,
        retry_max_s: float,
        sender: Sender = apprise_send,
    ) -> None:
        self.store = store
        self.keys = keys
        self.rules_file = rules_file
        self.environ = environ
        self.env_prefix = env_prefix
        self.now = now
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.sender = sender
        # A send may take connect + read timeouts and then some: the lease must outlast it.
        self.lease_ms = int((3 * timeout_s + 10) * 1000)

    def backoff_s(self, attempt: int) -> float:
        """Seconds before retry number ``attempt + 1``: base, 2 base, 4 base, ... capped."""
        return float(min(self.retry_max_s, self.retry_base_s * 2 ** max(0, attempt - 1)))

    def channel(self, name: str) -> tuple[str, str]:
        """(Apprise URL, language) of a channel; DeliveryError when unknown or not set."""
        rules = self.rules_file.current()
        ch = rules.channels.get(name) if rules is not None else None
        if ch is None:
            msg = f"channel {name!r} is not declared in the rules file"
            raise DeliveryError(msg)
        var = ch.env or f"{self.env_prefix}{name.upper()}"
        url = self.environ.get(var, "").strip()
        if not url:
            msg = f"channel {name!r}: environment variable {var} is not set"
            raise DeliveryError(msg)
        return url, ch.lang

    def send_test(self, name: str) -> None:
        """Send a test message to a channel now (``alerts test``); raises DeliveryError."""
        url, lang = self.channel(name)
        title, body = test_message(name, lang)
        self.sender(url, title, body, "test", self.timeout_s)

    def _tenants(self) -> list[str]:
        tenants = [t.decode() for t in self.store.r.smembers(self.keys.tenants)]  # type: ignore[union-attr]
        random.shuffle(tenants)  # noqa: S311 - fairness between tenants, not security
        return tenants

    def deliver_due(self, limit: int = 20) -> int:
        """Send up to ``limit`` due messages one by one; returns how many were handled."""
        handled = 0
        while handled < limit:
            claimed = None
            for tenant in self._tenants():
                claimed = self.store.claim(tenant, self.now(), self.lease_ms)
                if claimed is not None:
                    break
            if claimed is None:
                return handled
            self.deliver(claimed)
            handled += 1
        return handled

    def deliver(self, c: Claimed) -> bool:
        b = c.body
        url = ""
        try:
            url, lang = self.channel(b["channel"])
            title, text = b.get(lang) or b["en"]
            self.sender(url, title, text, b["kind"], self.timeout_s)
        except Exception as e:  # noqa: BLE001 - every failure is recorded and retried
            err = mask(str(e) if isinstance(e, DeliveryError) else f"{type(e).__name__}: {e}", [url])
            self._failed(c, err)
            return False
        self.store.done(
            c,
            {
                "id": c.msg_id,
                "channel": b["channel"],
                "rule": b["rule"],
                "queue": b["queue"],
                "kind": b["kind"],
                "ts_ms": self.now(),
                "attempt": c.attempt,
            },
        )
        log.info(
            "alert message sent: %s %s/%s to %s (attempt %d)",
            b["kind"],
            c.tenant,
            b["rule"],
            b["channel"],
            c.attempt,
        )
        return True

    def _failed(self, c: Claimed, error: str) -> None:
        b = c.body
        gave_up = c.attempt >= self.max_attempts
        retry_s = None if gave_up else self.backoff_s(c.attempt)
        now = self.now()
        failure: dict[str, Any] = {
            "channel": b["channel"],
            "rule": b["rule"],
            "ts_ms": now,
            "error": error,
            "attempt": c.attempt,
            "tenant": c.tenant,
            "queue": b["queue"],
            "kind": b["kind"],
            "id": c.msg_id,
            "retry_in_ms": None if retry_s is None else int(retry_s * 1000),
            "gave_up": gave_up,
        }
        self.store.record_failure(failure)
        if gave_up:
            self.store.done(c, None)
            log.error("alert message to %s dropped after %d attempts: %s", b["channel"], c.attempt, error)
        else:
            assert retry_s is not None
            self.store.retry_at(c, now + int(retry_s * 1000))
            log.warning(
                "alert message to %s failed (attempt %d, retry in %.1fs): %s",
                b["channel"],
                c.attempt,
                retry_s,
                error,
            )
