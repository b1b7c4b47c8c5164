"""Follow mode: tail -F through rotation, truncation and restarts, checked against a plain import.

The stream written is the hand-made queue_log, cut into pieces; whatever happens to the file,
the events published must be exactly those of importing the whole file once, in order.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from sources.common import MemorySink
from sources.follow import Checkpoint, Follower, import_files
from sources.queue_log import QueueLogMapper

HAND = Path(__file__).parent / "data" / "queue_log_all_events"
LINES = HAND.read_bytes().splitlines(keepends=True)


def _import_once() -> list[dict[str, Any]]:
    sink = MemorySink()
    asyncio.run(import_files([HAND], QueueLogMapper("acme"), sink, clock=lambda: 0.0))
    return sink.events


EXPECTED = _import_once()


def expected_events() -> list[dict[str, Any]]:
    return EXPECTED


def follower(tmp_path: Path, sink: MemorySink, **kw: Any) -> Follower:
    return Follower(
        tmp_path / "queue_log", tmp_path / "ckpt.json", QueueLogMapper("acme"), sink, clock=lambda: 0.0, **kw
    )


def append(path: Path, lines: list[bytes]) -> None:
    with path.open("ab") as fh:
        fh.write(b"".join(lines))


async def test_follow_reads_complete_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    sink = MemorySink()
    f = follower(tmp_path, sink)
    assert await f.poll() == 0  # no file yet: wait, no error
    append(log, LINES[:10])
    append(log, [LINES[10][:7]])  # half a line, as a writer in the middle of a write
    assert await f.poll() == 10
    append(log, [LINES[10][7:], *LINES[11:]])
    assert await f.poll() == len(LINES) - 10
    assert await f.poll() == 0
    f.close()
    assert sink.events == expected_events()
    assert len(sink.dead) == 3


async def test_follow_rotation_truncation_and_restart(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    sink = MemorySink()
    a = follower(tmp_path, sink)
    append(log, LINES[:8])
    await a.poll()
    # Asterisk keeps writing to the open file a moment, then logrotate renames it ...
    append(log, LINES[8:12])
    log.rename(tmp_path / "queue_log.1")
    append(tmp_path / "queue_log.1", LINES[12:14])  # ... a last write through the old descriptor
    append(log, LINES[14:18])  # the new file
    await a.poll()
    assert a.rotations == 1
    # copytruncate: the content is copied away and the file truncated in place
    append(log, LINES[18:20])
    await a.poll()
    (tmp_path / "queue_log.2").write_bytes(log.read_bytes())
    with log.open("r+b") as fh:
        fh.truncate(0)
    append(log, LINES[20:22])
    await a.poll()
    assert a.truncations == 1
    # the process dies here (no close, no goodbye); meanwhile more lines and another rotation
    append(log, LINES[22:26])
    os.rename(log, tmp_path / "queue_log.3")
    append(log, LINES[26:30])
    b = follower(tmp_path, sink)  # restart from the checkpoint: finds queue_log.3 by its inode
    await b.poll()
    assert b.rotations == 1
    # truncated and rewritten with more bytes than the old offset: the fingerprint notices
    with log.open("r+b") as fh:
        fh.truncate(0)
    append(log, LINES[30:])
    assert log.stat().st_size > b.offset
    await b.poll()
    assert b.truncations == 1
    a.close()  # only now, so that the crash above kept its descriptor open
    b.close()
    assert sink.events == expected_events()
    assert [d["line"] for d in sink.dead] == [1, 3, 4]  # line numbers within the current file


async def test_restart_from_checkpoint_neither_skips_nor_repeats(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    sink = MemorySink()
    append(log, LINES[:17])
    first = follower(tmp_path, sink)
    await first.poll()
    first.close()
    cp = Checkpoint.load(tmp_path / "ckpt.json")
    assert cp is not None and cp.line == 17 and cp.offset == sum(len(x) for x in LINES[:17])
    assert cp.agents["SIP/103"]["queues"] == ["sales"]  # agent state travels with the offset
    append(log, LINES[17:])
    second = follower(tmp_path, sink)
    await second.poll()
    second.close()
    assert sink.events == expected_events()


class CrashAfterPublish(MemorySink):
    """Publishes, then dies before the checkpoint is written (the worst moment)."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False

    async def publish(self, events: list[dict[str, Any]]) -> None:
        await super().publish(events)
        if self.armed and events:
            self.armed = False
            raise ConnectionError("killed")


async def test_crash_between_publish_and_checkpoint_repeats_only_same_ids(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    sink = CrashAfterPublish()
    append(log, LINES[:10])
    a = follower(tmp_path, sink)
    await a.poll()
    append(log, LINES[10:20])
    sink.armed = True
    with pytest.raises(ConnectionError):
        await a.poll()
    append(log, LINES[20:])
    b = follower(tmp_path, sink)
    await b.poll()
    a.close()
    b.close()
    want = expected_events()
    ids = [e["event_id"] for e in sink.events]
    assert set(ids) == {e["event_id"] for e in want}  # nothing skipped
    assert len(ids) > len(want)  # the chunk was sent twice ...
    assert list(dict.fromkeys(ids)) == [e["event_id"] for e in want]  # ... with the same ids


async def test_from_end_starts_after_last_complete_line(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    append(log, LINES[:20])
    sink = MemorySink()
    f = follower(tmp_path, sink, from_end=True)
    assert await f.poll() == 0
    append(log, LINES[20:22])
    assert await f.poll() == 2
    assert f.line == 22
    f.close()


async def test_run_stops_on_event(tmp_path: Path) -> None:
    append(tmp_path / "queue_log", LINES)
    sink = MemorySink()
    f = follower(tmp_path, sink)
    stop = asyncio.Event()
    stop.set()
    summary = await f.run(stop, interval=0.01)
    assert summary.read == 0  # stopped before the first poll
