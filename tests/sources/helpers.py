"""Test helpers shared by the source tests: a sync ASGI client and a Kafka topic reader."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from anyio.from_thread import start_blocking_portal
from starlette.applications import Starlette

from stream.publish import bootstrap_servers


class AppClient:
    """A synchronous client running the app (with its lifespan) on a private event loop thread.

    Starlette's TestClient would do, but it warns about plain httpx (warnings are errors here).
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def __enter__(self) -> AppClient:
        self._portal_cm = start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self._life = self.portal.wrap_async_context_manager(self.app.router.lifespan_context(self.app))
        self._life.__enter__()
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://ingest")
        return self

    def __exit__(self, *exc: object) -> None:
        self.portal.call(self.http.aclose)
        self._life.__exit__(None, None, None)
        self._portal_cm.__exit__(None, None, None)

    def post(self, url: str, *, content: Any, headers: dict[str, str]) -> httpx.Response:
        async def go() -> httpx.Response:
            return await self.http.post(url, content=content, headers=headers)

        return self.portal.call(go)

    def get(self, url: str) -> httpx.Response:
        async def go() -> httpx.Response:
            return await self.http.get(url)

        return self.portal.call(go)


async def read_topic(
    broker: str, topic: str, until: Callable[[list[Any]], bool], timeout: float = 30.0
) -> list[Any]:
    """Values on ``topic`` (JSON arrays flattened), read from the start until ``until(values)``.

    The data is in Kafka already (acknowledged); ``timeout`` only bounds a failing test.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers(broker),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    out: list[Any] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not until(out) and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for r in records:
                    doc = orjson.loads(r.value)
                    out.extend(doc if isinstance(doc, list) else [doc])
    finally:
        await consumer.stop()
    return out
