"""Session fixtures: a real Tansu broker and a real redis-server on free loopback ports.

Nothing here talks to a Redis or Kafka that the test session did not start (the CI machine runs
its own Redis on 6379: never touched). Each test that needs isolation uses its own tenant names,
topics or a flushed database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis as redis_lib

from stream.embedded import Proc, start_redis, start_tansu

if TYPE_CHECKING:
    from tests.pipeline import Pipeline


@pytest.fixture(scope="session")
def tansu() -> Iterator[Proc]:
    proc = start_tansu()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def redis_proc() -> Iterator[Proc]:
    proc = start_redis()
    yield proc
    proc.stop()


@pytest.fixture
def redis_url(redis_proc: Proc) -> str:
    return f"redis://127.0.0.1:{redis_proc.port}/0"


@pytest.fixture
def redis_client(redis_proc: Proc) -> Iterator[redis_lib.Redis]:
    """A sync client on a freshly flushed database of the session's private Redis."""
    client = redis_lib.Redis(host="127.0.0.1", port=redis_proc.port, db=0)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def unique() -> str:
    """A short unique token for topic and tenant names of one test."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def pipeline(tansu: Proc, redis_proc: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator["Pipeline"]:
    """One worker for the session on its own topic and key prefix; tenants default to UTC.

    Tests isolate themselves by tenant name (``unique``). Use ``make_pipeline`` for a worker
    with a specific tenant configuration.
    """
    from tests.pipeline import Pipeline

    p = Pipeline(tansu, redis_proc, workdir=tmp_path_factory.mktemp("pipeline"))
    p.start_worker()
    yield p
    p.stop()


@pytest.fixture
def make_pipeline(tansu: Proc, redis_proc: Proc, tmp_path: Path) -> Iterator[Callable[..., "Pipeline"]]:
    """Factory: ``make_pipeline(config={...}, workers=1, partitions=4)`` -> a started Pipeline."""
    from tests.pipeline import Pipeline

    made: list[Pipeline] = []

    def make(config: dict | None = None, workers: int = 1, partitions: int = 4, **kw: object) -> Pipeline:
        p = Pipeline(tansu, redis_proc, config=config, partitions=partitions, workdir=tmp_path, **kw)  # type: ignore[arg-type]
        for _ in range(workers):
            p.start_worker()
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()
