"""The batcher acknowledges only after the write, flushes on size and on time, one batch in flight."""

from __future__ import annotations

import asyncio

import pytest

from stream.batcher import Batcher


async def test_ack_only_after_write_and_flush_on_size() -> None:
    log: list[str] = []
    gate = asyncio.Event()

    async def process(batch: list[int]) -> None:
        log.append(f"write {batch}")
        await gate.wait()

    async def ack(i: int) -> None:
        log.append(f"ack {i}")

    b: Batcher[int] = Batcher(process, ack, max_events=3, within_s=10, max_inflight=1)
    for i in range(3):
        await b.add(i)
    await asyncio.sleep(0)
    assert log == ["write [0, 1, 2]"]  # flushed by size, nothing acked while the write runs
    await b.add(3)
    await b.add(4)
    assert log == ["write [0, 1, 2]"]  # the next batch fills meanwhile
    gate.set()
    await b.drain()
    assert log == ["write [0, 1, 2]", "ack 0", "ack 1", "ack 2", "write [3, 4]", "ack 3", "ack 4"]


async def test_flush_on_time() -> None:
    written: list[list[int]] = []

    async def process(batch: list[int]) -> None:
        written.append(list(batch))

    async def ack(_: int) -> None:
        return None

    b: Batcher[int] = Batcher(process, ack, max_events=100, within_s=0.01)
    await b.add(1)
    for _ in range(200):
        if written:
            break
        await asyncio.sleep(0.01)
    assert written == [[1]]


async def test_failed_write_is_not_acked_and_surfaces() -> None:
    acked: list[int] = []

    async def process(batch: list[int]) -> None:
        raise RuntimeError("redis said no")

    async def ack(i: int) -> None:
        acked.append(i)

    b: Batcher[int] = Batcher(process, ack, max_events=1, within_s=1)
    await b.add(1)
    with pytest.raises(RuntimeError):
        await b.drain()
    assert acked == []


async def test_two_batches_in_flight_and_a_third_waits() -> None:
    started: list[list[int]] = []
    gates = [asyncio.Event(), asyncio.Event()]
    acked: list[int] = []

    async def process(batch: list[int]) -> None:
        started.append(list(batch))
        await gates[len(started) - 1].wait() if len(started) <= 2 else None

    async def ack(i: int) -> None:
        acked.append(i)

    b: Batcher[int] = Batcher(process, ack, max_events=1, within_s=10, max_inflight=2)
    await b.add(1)
    await b.add(2)
    await asyncio.sleep(0)
    assert started == [[1], [2]] and acked == []
    third = asyncio.ensure_future(b.add(3))
    await asyncio.sleep(0.01)
    assert not third.done() and started == [[1], [2]]  # back-pressure: two in flight already
    gates[1].set()  # the second finishes first: its events are acked alone
    await asyncio.sleep(0.01)
    assert acked == [2, 3] and third.done()  # 3 went out as soon as 2 made room; 1 is still held
    gates[0].set()
    await b.drain()
    assert sorted(acked) == [1, 2, 3]


def test_arguments_are_checked() -> None:
    async def noop(_: object) -> None:
        return None

    with pytest.raises(ValueError, match="max_events"):
        Batcher(noop, noop, max_events=0, within_s=1)
