"""Settings and center config fail early with messages naming the problem; the query command
prints KPIs as JSON; Redis URLs may carry a password (and it never shows)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis as redis_lib
import redis.asyncio as aioredis

from stream.cli_query import run_query
from stream.config import CenterConfig, load_settings
from stream.embedded import start_redis
from stream.errors import ConfigError
from stream.events import parse_event
from stream.keys import Keys
from stream.store import StoreWriter

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize(
    ("yaml_text", "needle"),
    [
        ("tenants: {acme: {timezone: Mars/Olympus}}", "tenants.acme.timezone"),
        ("tenants: {acme: {interval_minutes: 20}}", "tenants.acme.interval_minutes"),
        ("tenants: {acme: {sl_formula: generous}}", "tenants.acme.sl_formula"),
        ("tenants: {acme: {sl_thresholds_s: [0]}}", "sl_thresholds_s must be 1..3600"),
        ("tenants: {acme: {queues: {vip: {sl_formula: x}}}}", "tenants.acme.queues.vip.sl_formula"),
        ("defaults: {day_start_hour: 25}", "defaults.day_start_hour"),
        ("tenants: {acme: {colour: red}}", "tenants.acme.colour"),
        ("tenants: [1, 2", "not valid YAML"),
    ],
)
def test_center_config_errors_name_the_setting(yaml_text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        CenterConfig.parse_yaml(yaml_text, source="center.yaml")
    assert needle in str(e.value) and "center.yaml" in str(e.value)


def test_tenants_inherit_defaults_and_queues_override() -> None:
    c = CenterConfig.parse_yaml(
        "defaults: {timezone: Asia/Shanghai, short_abandon_s: 5}\n"
        "tenants: {acme: {sl_thresholds_s: [20, 15], queues: {vip: {short_abandon_s: 0}}}}"
    )
    acme = c.tenant("acme")
    assert acme.timezone == "Asia/Shanghai" and acme.knobs("general").short_abandon_s == 5
    assert acme.knobs("vip").short_abandon_s == 0 and acme.knobs("vip").sl_thresholds_s == (15, 20)
    assert c.tenant("unknown").timezone == "Asia/Shanghai"


def test_settings_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLPULSE_PARTITIONS", "0")
    with pytest.raises(ConfigError, match="CALLPULSE_PARTITIONS"):
        load_settings()
    monkeypatch.delenv("CALLPULSE_PARTITIONS")
    monkeypatch.setenv("CALLPULSE_REDIS_URL", "http://nope")
    with pytest.raises(ConfigError, match="CALLPULSE_REDIS_URL"):
        load_settings()


def test_worker_refuses_to_start_on_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("tenants: {acme: {timezone: Nowhere/Special}}\n")
    env = {**os.environ, "CALLPULSE_CONFIG": str(bad), "CALLPULSE_KAFKA_BROKER": "kafka://127.0.0.1:1"}
    out = subprocess.run(
        [sys.executable, "-m", "stream", "worker"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "tenants.acme.timezone" in out.stderr and "Traceback" not in out.stderr


def test_query_command_with_a_password_protected_redis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "s3cret-Pa55"
    proc = start_redis(password=secret)
    try:
        url = f"redis://:{secret}@127.0.0.1:{proc.port}/0"
        settings = load_settings(redis_url=url, config=None)
        assert secret not in repr(settings) and secret not in str(settings.model_dump())
        t0 = 1_795_310_100_000  # 2026-11-22T01:15Z

        async def fill() -> None:
            r = aioredis.Redis.from_url(url)
            w = StoreWriter(r, settings.center, Keys(), 86_400, lambda: t0)
            await w.apply(
                [
                    parse_event(
                        {
                            "event_id": "1",
                            "type": "call_offered",
                            "ts": t0,
                            "tenant": "q1",
                            "call_id": "c",
                            "queue": "general",
                        }
                    ),
                    parse_event(
                        {
                            "event_id": "2",
                            "type": "call_answered",
                            "ts": t0 + 4000,
                            "tenant": "q1",
                            "call_id": "c",
                            "queue": "general",
                            "agent_id": "a",
                            "wait_s": 4,
                        }
                    ),
                    parse_event(
                        {
                            "event_id": "3",
                            "type": "agent_state",
                            "ts": t0,
                            "tenant": "q1",
                            "agent_id": "a",
                            "state": "on_call",
                            "queues": ["general"],
                        }
                    ),
                ]
            )
            await r.aclose()

        asyncio.run(fill())

        def ns(**kw: object) -> argparse.Namespace:
            return argparse.Namespace(
                **{
                    "tenant": "q1",
                    "queue": None,
                    "start": None,
                    "end": None,
                    "now": str(t0 + 10_000),
                    **kw,
                }
            )

        rows = run_query(ns(window="intervals"), settings)["rows"]
        assert [(r["queue"], r["offered"], r["answered"], r["service_level"]) for r in rows] == [
            ("general", 1, 1, 1.0)
        ]
        today = run_query(ns(window="today"), settings)
        assert today["day"] == "2026-11-22" and today["queues"]["general"]["asa_s"] == 4.0
        rolling = run_query(ns(window="rolling"), settings)
        assert rolling["windows"]["last_5_min"]["general"]["answered"] == 1
        live = run_query(ns(window="live"), settings)
        assert live["agents"]["on_call"] == 1 and live["queues"]["general"]["waiting"] == 0
        assert run_query(ns(window="tenants"), settings) == {"tenants": ["q1"]}
        # And through the real command line, as JSON on stdout.
        env = {**os.environ, "CALLPULSE_REDIS_URL": url}
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "stream",
                "query",
                "--tenant",
                "q1",
                "--window",
                "total",
                "--from",
                "2026-11-22T09:00+08:00",
                "--to",
                "2026-11-22T10:00+08:00",
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        doc = json.loads(out.stdout)
        assert [(r["queue"], r["answered"]) for r in doc["rows"]] == [(None, 1)]
        assert secret not in out.stdout + out.stderr
        with pytest.raises(redis_lib.AuthenticationError):
            redis_lib.Redis(port=proc.port).ping()
    finally:
        proc.stop()
