"""``python -m stream alerts test|list|check`` against a real local endpoint and Redis."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import redis as redis_lib

from stream.__main__ import main
from stream.embedded import Proc
from tests.alerts.helpers import write_rules
from tests.alerts.hook import Hook


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, redis_proc: Proc, redis_client: redis_lib.Redis, tmp_path: Path
) -> Path:
    rules = write_rules(
        tmp_path / "alerts.yaml",
        {"team": {"env": "CALLPULSE_CHANNEL_TEAM", "lang": "zh"}, "dead": {"env": "CALLPULSE_CHANNEL_DEAD"}},
        [{"name": "wq", "metric": "waiting", "threshold": "crit", "for": "1m"}],
    )
    monkeypatch.setenv("CALLPULSE_REDIS_URL", f"redis://127.0.0.1:{redis_proc.port}/0")
    monkeypatch.setenv("CALLPULSE_KEY_PREFIX", "cli")
    monkeypatch.setenv("CALLPULSE_ALERTS_RULES", str(rules))
    monkeypatch.setenv("CALLPULSE_ALERTS_DELIVERY_TIMEOUT_S", "2")
    monkeypatch.setenv(
        "CALLPULSE_CHANNEL_DEAD", "json://127.0.0.1:9/secret-path-token"
    )  # nothing listens on 9
    return rules


def test_alerts_test_sends_through_apprise(
    env: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CALLPULSE_CHANNEL_TEAM", hook.url("team"))
    assert main(["alerts", "test", "--channel", "team"]) == 0
    assert "test message sent to team" in capsys.readouterr().out
    (msg,) = hook.messages(path="team")
    assert msg["title"] == "CallPulse 测试消息" and msg["type"] == "info"


def test_alerts_test_failure_is_masked(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "test", "--channel", "dead"]) == 1
    err = capsys.readouterr().err
    assert "test message to dead failed" in err and "secret-path-token" not in err


def test_alerts_list_shows_rules_and_state(
    env: Path, redis_client: redis_lib.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    redis_client.sadd("cli:tenants", "acme")
    redis_client.hset(
        "cli:{acme}:alert:state",
        "wq|q",
        orjson.dumps({"state": "pending", "since_ms": 1, "value": 30, "threshold": 20, "v": 1}),
    )
    assert main(["alerts", "list", "--json"]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert out["rules"][0]["name"] == "wq" and out["rules"][0]["channels"] == ["team", "dead"]
    assert out["alerts"] == {
        "acme": {"wq|q": {"state": "pending", "since_ms": 1, "value": 30, "threshold": 20, "v": 1}}
    }
    assert main(["alerts", "list"]) == 0
    assert "acme wq|q: pending" in capsys.readouterr().out


def test_alerts_check_names_line_and_problem(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["alerts", "check"]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "channels: {}\nrules:\n  - name: x\n    metric: waiting\n    op: '>'\n    threshold: lots\n"
    )
    assert main(["alerts", "check", str(bad)]) == 2
    assert "bad.yaml line 6: rules[0].threshold: expected a number" in capsys.readouterr().err
