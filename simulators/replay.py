"""Replay a recorded JSON Lines file of v1 events, re-timed to now or with its own timestamps.

Re-timing shifts every ``ts`` by the same amount so the first event happens now (durations and
gaps stay as recorded); ``--speed`` then only sets the pace of sending. Because the worker counts
each ``event_id`` once per day, a re-timed replay gives events and calls fresh ids (a suffix per
replay run) unless told to keep them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from simulators.output import Progress, Sink, pump
from stream.errors import ConfigError, InvalidEvent
from stream.events import parse_ts


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Events of a JSON Lines file (blank lines skipped); ``ts`` normalised to epoch ms."""
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                ev = orjson.loads(line)
                ev["ts"] = parse_ts(ev["ts"])
            except (orjson.JSONDecodeError, KeyError, TypeError, InvalidEvent) as e:
                msg = f"{path}:{n}: not a v1 event with a valid ts ({e})"
                raise ConfigError(msg) from e
            yield ev


def retimed(
    events: Iterator[dict[str, Any]], *, now_ms: int | None, id_suffix: str | None
) -> Iterator[dict[str, Any]]:
    """Shift timestamps so the first event is at ``now_ms`` (None: keep them); suffix ids."""
    shift: int | None = None
    for ev in events:
        if now_ms is not None:
            if shift is None:
                shift = now_ms - ev["ts"]
            ev["ts"] += shift
        if id_suffix:
            ev["event_id"] = f"{ev['event_id']}{id_suffix}"
            if "call_id" in ev:
                ev["call_id"] = f"{ev['call_id']}{id_suffix}"
        yield ev


async def replay(
    path: str | Path,
    sink: Sink,
    *,
    speed: float | None,
    retime: bool = True,
    new_ids: bool | None = None,
    now_ms: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Send the file's events to ``sink`` paced at ``speed`` (None: flat out). Returns the count."""
    if not Path(path).is_file():
        msg = f"replay: no such file {path}"
        raise ConfigError(msg)
    if new_ids is None:
        new_ids = retime
    start = (now_ms if now_ms is not None else int(time.time() * 1000)) if retime else None
    suffix = f"~r{uuid.uuid4().hex[:6]}" if new_ids else None
    events = retimed(read_jsonl(path), now_ms=start, id_suffix=suffix)
    return await pump(events, sink, speed=speed, progress=progress)
