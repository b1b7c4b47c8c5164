"""Read queue_log files: import whole files in order, or follow a live file like ``tail -F``.

Following survives rotation (the file is renamed and a new one created: the rest of the old file
is read first, then the new one from its start) and truncation (``copytruncate``: the size drops
below our offset, or the first bytes changed). A JSON checkpoint written atomically after every
published chunk holds the file's device and inode, the byte offset of the next unread line, its
line number, a fingerprint of the file's first bytes and the mapper's agent state. A restart
reopens the same file (or finds the rotated one by its inode) at that offset: nothing skipped.
A crash between publishing a chunk and saving the checkpoint re-reads that chunk; its events have
the same ids, so the worker counts them once: nothing repeated.

Only complete lines (ending in a newline) are read from a live file; a half-written last line
waits for its newline.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from sources.common import Sink as SinkProto
from sources.common import SourceError, Summary
from sources.queue_log import SOURCE, QueueLogMapper, parse_line

log = logging.getLogger("sources.queue_log")

#: Bytes of the file's start kept as a fingerprint to notice a file truncated and rewritten.
FINGERPRINT_BYTES = 256
#: Largest read per chunk while following, bytes; the checkpoint is saved after each chunk.
CHUNK_BYTES = 1 << 20
R_BAD_ENCODING = "bad_encoding"
#: Lines per published chunk when importing whole files.
IMPORT_CHUNK_LINES = 5000


def convert(
    mapper: QueueLogMapper,
    lines: Iterable[tuple[int, bytes]],
    *,
    summary: Summary,
    file: str,
    now_ms: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Numbered raw lines -> (events, dead-letter records). Never raises for bad input."""
    events: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    for number, data in lines:
        raw_bytes = data.rstrip(b"\r\n")
        if not raw_bytes.strip():
            continue
        summary.read += 1
        raw = raw_bytes.decode("utf-8", errors="replace")
        before = sum(mapper.ignored.values())
        try:
            if "\ufffd" in raw:
                raise SourceError(R_BAD_ENCODING, "line is not UTF-8")
            out = mapper.map_line(parse_line(raw), raw)
        except SourceError as e:
            summary.reject(
                dead, SOURCE, e, raw, now_ms, line=number, file=file, tenant=mapper.tenant, log=log
            )
            continue
        if out:
            summary.imported += 1
            summary.events += len(out)
            events.extend(out)
        elif sum(mapper.ignored.values()) == before:
            summary.skipped["agent_state_unchanged"] += 1
    return events, dead


def _open_any(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # type: ignore[return-value]


def _numbered(fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
    yield from enumerate(fh, start=1)


async def import_files(
    paths: list[Path],
    mapper: QueueLogMapper,
    sink: SinkProto,
    *,
    clock: Callable[[], float] = time.time,
    chunk_lines: int = IMPORT_CHUNK_LINES,
) -> Summary:
    """Import whole files in the order given (oldest first; ``.gz`` read transparently)."""
    summary = Summary()
    for path in paths:
        with _open_any(path) as fh:
            batch: list[tuple[int, bytes]] = []
            for item in _numbered(fh):
                batch.append(item)
                if len(batch) >= chunk_lines:
                    await _flush(mapper, batch, sink, summary, str(path), clock)
                    batch = []
            await _flush(mapper, batch, sink, summary, str(path), clock)
    summary.ignored.update(mapper.ignored)
    return summary


async def _flush(
    mapper: QueueLogMapper,
    batch: list[tuple[int, bytes]],
    sink: SinkProto,
    summary: Summary,
    file: str,
    clock: Callable[[], float],
) -> None:
    events, dead = convert(mapper, batch, summary=summary, file=file, now_ms=int(clock() * 1000))
    await sink.publish(events)
    if dead:
        await sink.dead_letter(dead)


@dataclass
class Checkpoint:
    """Where following stopped: enough to resume without skipping or repeating a line."""

    path: str
    dev: int
    ino: int
    offset: int  # byte offset of the next unread line in the file (dev, ino)
    line: int  # number of lines read before ``offset``
    fp_len: int  # bytes covered by the fingerprint (<= FINGERPRINT_BYTES)
    fp_hash: str
    agents: dict[str, Any] = field(default_factory=dict)

    def save(self, target: Path) -> None:
        """Write atomically: a crash leaves the old or the new checkpoint, never half of one."""
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("wb") as fh:
            fh.write(orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(target)

    @classmethod
    def load(cls, source: Path) -> Checkpoint | None:
        if not source.exists():
            return None
        return cls(**orjson.loads(source.read_bytes()))


def _open_live(path: Path) -> BinaryIO:
    """Unbuffered: a buffered reader may serve bytes cached before a truncation."""
    return path.open("rb", buffering=0)  # type: ignore[return-value]


def _fingerprint(fh: BinaryIO, length: int) -> str:
    fh.seek(0)
    return hashlib.blake2b(fh.read(length), digest_size=16).hexdigest()


class Follower:
    """Follow one live queue_log like ``tail -F``; call :meth:`poll` (tests) or :meth:`run`."""

    def __init__(
        self,
        path: Path,
        checkpoint: Path,
        mapper: QueueLogMapper,
        sink: SinkProto,
        *,
        from_end: bool = False,
        clock: Callable[[], float] = time.time,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.path = path
        self.checkpoint_path = checkpoint
        self.mapper = mapper
        self.sink = sink
        self.from_end = from_end
        self.clock = clock
        self.chunk_bytes = chunk_bytes
        self.summary = Summary()
        self.fh: BinaryIO | None = None
        self.dev = self.ino = 0
        self.offset = self.line = 0
        self.fp_len = 0
        self.fp_hash = ""
        self.rotations = 0
        self.truncations = 0

    # -- opening ---------------------------------------------------------------------------
    def _adopt(self, fh: BinaryIO, offset: int, line: int) -> None:
        st = os.fstat(fh.fileno())
        self.fh, self.dev, self.ino = fh, st.st_dev, st.st_ino
        self.offset, self.line = offset, line
        self.fp_len = min(FINGERPRINT_BYTES, offset)
        self.fp_hash = _fingerprint(fh, self.fp_len)

    def _find_rotated(self, dev: int, ino: int) -> Path | None:
        """The renamed old file (``queue_log.1``, ``queue_log-20261122``…) with that inode."""
        for candidate in sorted(self.path.parent.glob(self.path.name + "*")):
            if candidate == self.path:
                continue
            st = candidate.stat()
            if (st.st_dev, st.st_ino) == (dev, ino):
                return candidate
        return None

    def _open_initial(self) -> bool:
        cp = Checkpoint.load(self.checkpoint_path)
        if cp is not None:
            self.mapper.load_state(cp.agents)
            target = (
                self.path
                if self._same_file(self.path, cp.dev, cp.ino)
                else self._find_rotated(cp.dev, cp.ino)
            )
            if target is not None:
                fh = _open_live(target)
                self._adopt(fh, 0, 0)
                self.offset, self.line, self.fp_len, self.fp_hash = cp.offset, cp.line, cp.fp_len, cp.fp_hash
                if not self._intact():
                    log.warning(
                        "%s was truncated or replaced since the checkpoint: reading from its start", target
                    )
                    self._restart_file()
                return True
            log.warning(
                "%s: the file of the checkpoint (inode %d) is gone; lines written to it after offset %d "
                "may be missing. Continuing with the current file from its start.",
                self.path, cp.ino, cp.offset,
            )  # fmt: skip
        if not self.path.exists():
            return False
        fh = _open_live(self.path)
        size = os.fstat(fh.fileno()).st_size if self.from_end and cp is None else 0
        if size:
            fh.seek(0)
            head = fh.read(size)
            size = head.rfind(b"\n") + 1  # start after the last complete line
            self._adopt(fh, size, head.count(b"\n"))
        else:
            self._adopt(fh, 0, 0)
        return True

    @staticmethod
    def _same_file(path: Path, dev: int, ino: int) -> bool:
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        return (st.st_dev, st.st_ino) == (dev, ino)

    def _intact(self) -> bool:
        """False if the open file is now shorter than our offset or its first bytes changed."""
        assert self.fh is not None
        size = os.fstat(self.fh.fileno()).st_size
        return size >= self.offset and _fingerprint(self.fh, self.fp_len) == self.fp_hash

    def _restart_file(self) -> None:
        self.truncations += 1
        self.offset = self.line = self.fp_len = 0
        self.fp_hash = _fingerprint(self.fh, 0) if self.fh else ""

    # -- reading ---------------------------------------------------------------------------
    async def _drain(self, *, final: bool = False) -> int:
        """Read and publish every complete line after ``offset``; ``final``: also a last partial."""
        assert self.fh is not None
        total = 0
        while True:
            self.fh.seek(self.offset)
            data = self.fh.read(self.chunk_bytes)
            if not data:
                return total
            end = data.rfind(b"\n") + 1
            if end == 0:
                if not final and len(data) < self.chunk_bytes:
                    return total  # a half-written line: wait for its newline
                end = len(data)
            lines = data[:end].splitlines(keepends=True)
            numbered = list(enumerate(lines, start=self.line + 1))
            events, dead = convert(
                self.mapper,
                numbered,
                summary=self.summary,
                file=str(self.path),
                now_ms=int(self.clock() * 1000),
            )
            await self.sink.publish(events)
            if dead:
                await self.sink.dead_letter(dead)
            self.offset += end
            self.line += len(lines)
            if self.fp_len < FINGERPRINT_BYTES:
                self.fp_len = min(FINGERPRINT_BYTES, self.offset)
                self.fp_hash = _fingerprint(self.fh, self.fp_len)
            self._save()
            total += len(lines)

    def _save(self) -> None:
        Checkpoint(
            str(self.path), self.dev, self.ino, self.offset, self.line, self.fp_len, self.fp_hash,
            self.mapper.state(),
        ).save(self.checkpoint_path)  # fmt: skip

    async def poll(self) -> int:
        """One round of ``tail -F``: read what is new, handle rotation and truncation.

        Returns the number of lines read. Safe to call at any pace: no timing assumptions.
        """
        if self.fh is None and not self._open_initial():
            return 0
        n = 0
        if not self._intact():  # check before reading: the offset may now be mid-line
            log.warning("%s truncated: reading from its start", self.path)
            self._restart_file()
        n += await self._drain()
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return n  # rotated away and not yet recreated: keep what we have, look again later
        if (st.st_dev, st.st_ino) != (self.dev, self.ino):
            n += await self._drain(final=True)  # the old file's last lines, then switch
            assert self.fh is not None
            self.fh.close()
            self.rotations += 1
            log.info("%s rotated: reading the new file from its start", self.path)
            self._adopt(_open_live(self.path), 0, 0)
            n += await self._drain()
        elif not self._intact():
            log.warning("%s truncated: reading from its start", self.path)
            self._restart_file()
            n += await self._drain()
        return n

    async def run(self, stop: asyncio.Event, interval: float = 0.5) -> Summary:
        """Poll until ``stop`` is set; returns the summary of everything read."""
        while not stop.is_set():
            await self.poll()
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass
        self.close()
        self.summary.ignored = self.mapper.ignored.copy()
        return self.summary

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
