"""Micro-batching with acknowledgement after the write, and the next batch filling meanwhile.

Faust's ``take_events`` stops pulling messages while the loop body runs, so the consumer idles
for every Redis round trip (measured: the worker spent a third of its time in ``epoll``). Here the
agent keeps iterating while one batch is being written; a batch is flushed when it reaches
``max_events`` or ``within`` seconds after its first event, and its events are acknowledged only
after the write succeeded, so committed offsets never run ahead of Redis. Up to ``max_inflight``
batches are written at once (default 2: one batch's Python decoding overlaps the previous one's
Lua in Redis; writes are idempotent and order-free, and Faust commits only offsets below the
lowest unacknowledged one); a further flush waits, which bounds memory and keeps back-pressure
on the consumer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
E = TypeVar("E")


class Batcher(Generic[E]):
    def __init__(
        self,
        process: Callable[[Sequence[E]], Awaitable[object]],
        ack: Callable[[E], Awaitable[object]],
        *,
        max_events: int,
        within_s: float,
        max_inflight: int = 2,
    ) -> None:
        if max_events < 1 or within_s <= 0 or max_inflight < 1:
            msg = (
                "max_events and max_inflight must be >= 1 and within_s > 0, "
                f"got {max_events}, {max_inflight}, {within_s}"
            )
            raise ValueError(msg)
        self.process = process
        self.ack = ack
        self.max_events = max_events
        self.within_s = within_s
        self.max_inflight = max_inflight
        self._buf: list[E] = []
        self._inflight: list[asyncio.Task[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self.batches = 0

    async def add(self, item: E) -> None:
        self._buf.append(item)
        if len(self._buf) >= self.max_events:
            await self.flush()
        elif len(self._buf) == 1:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.within_s, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        task = asyncio.ensure_future(self.flush())
        task.add_done_callback(_log_failure)

    async def flush(self) -> None:
        """Start writing the buffered items (after the previous batch is done)."""
        async with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            await self._reap(self.max_inflight - 1)
            if not self._buf:
                return
            batch, self._buf = self._buf, []
            self._inflight.append(asyncio.ensure_future(self._write(batch)))

    async def _reap(self, keep: int) -> None:
        """Wait until at most ``keep`` writes are in flight; re-raise a failed write."""
        while len(self._inflight) > keep:
            done, _ = await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
            self._inflight = [t for t in self._inflight if t not in done]
            for task in done:
                task.result()  # a failed write must stop the agent: its events stay unacked

    async def _write(self, batch: list[E]) -> None:
        await self.process(batch)
        for item in batch:
            await self.ack(item)
        self.batches += 1

    async def drain(self) -> None:
        """Flush what is buffered and wait until everything is written and acknowledged."""
        await self.flush()
        async with self._lock:
            await self._reap(0)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("batch write failed: %r", task.exception())
