"""Fixtures for the dashboard: a filled Redis (real store writer) and the CALLPULSE_* env."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as redis_lib

from stream.config import CenterConfig, load_settings
from tests.dashboard import seed


@dataclass
class Floor:
    url: str
    prefix: str
    config_path: Path
    center: CenterConfig
    client: redis_lib.Redis

    @property
    def env(self) -> dict[str, str]:
        return {
            "CALLPULSE_REDIS_URL": self.url,
            "CALLPULSE_KEY_PREFIX": self.prefix,
            "CALLPULSE_CONFIG": str(self.config_path),
        }

    def fill(self, events: list[dict], now_ms: int = seed.NOW, heartbeat: bool = True) -> None:
        seed.fill(self.url, self.prefix, self.center, events, now_ms, heartbeat=heartbeat)

    def source(self):  # noqa: ANN201
        from dashboard.data import Source

        return Source(load_settings(redis_url=self.url, key_prefix=self.prefix, config=self.config_path))


@pytest.fixture
def floor(
    redis_client: redis_lib.Redis, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Floor]:
    """A 12-queue floor filled at ``seed.NOW``; the CALLPULSE_* env points at it."""
    cfg = seed.write_config(tmp_path / "center.yaml", seed.center_config())
    f = Floor(redis_url, f"cpd{uuid.uuid4().hex[:6]}", cfg, CenterConfig.load(cfg), redis_client)
    f.fill(seed.floor_events(seed.TENANT, seed.QUEUES, seed.NOW))
    for k, v in f.env.items():
        monkeypatch.setenv(k, v)
    yield f
