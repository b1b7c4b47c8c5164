"""docker-compose.yml is right by reading (no Docker engine here): parse it and check its promises."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from stream.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_services_present_with_health_checks() -> None:
    assert {"kafka", "redis", "worker", "alerts", "dashboard", "simulator"} <= set(SERVICES)
    assert SERVICES["alerts"]["command"] == ["python", "-m", "stream", "alerts", "run"]
    for name in ("kafka", "redis", "worker", "dashboard"):
        hc = SERVICES[name]["healthcheck"]
        assert hc["test"] and hc["interval"] and hc["retries"] >= 3, name


def test_kafka_is_apache_kafka_in_kraft_mode() -> None:
    kafka = SERVICES["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "zookeeper" not in str(COMPOSE).lower()
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    assert any(v.endswith(":/var/lib/kafka/data") for v in kafka["volumes"])


def test_redis_is_durable_and_password_protected_from_the_environment() -> None:
    cmd = SERVICES["redis"]["command"]
    assert "--appendonly yes" in cmd and "--appendfsync everysec" in cmd
    assert re.search(r"--requirepass \$\{REDIS_PASSWORD:\?", cmd), "password must come from the environment"
    assert any(v.endswith(":/data") for v in SERVICES["redis"]["volumes"])


def test_workers_scale_and_are_configured_with_real_settings() -> None:
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N must work
    assert worker["deploy"]["replicas"] >= 2
    assert worker["command"] == ["python", "-m", "stream", "worker"]
    env = worker["environment"]
    fields = {f"CALLPULSE_{n.upper()}" for n in Settings.model_fields}
    for key in env:
        if key.startswith("CALLPULSE_CHANNEL_"):
            continue  # alert channel URLs (secrets), named by config/alerts.yaml
        assert key in fields, f"{key} is not a setting"
    assert env["CALLPULSE_KAFKA_BROKER"] == "kafka://kafka:9092"
    assert env["CALLPULSE_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD")
    Settings(
        **{
            k.removeprefix("CALLPULSE_").lower(): v
            for k, v in env.items()
            if f"CALLPULSE_{k.removeprefix('CALLPULSE_')}" in fields and "${" not in v
        }
    )
    for dep in ("kafka", "redis"):
        assert worker["depends_on"][dep]["condition"] == "service_healthy"


def test_files_the_services_use_exist() -> None:
    env = SERVICES["worker"]["environment"]
    for key in ("CALLPULSE_CONFIG", "CALLPULSE_ALERTS_RULES"):
        assert (ROOT / env[key].removeprefix("/app/")).exists(), key
    assert (ROOT / SERVICES["dashboard"]["command"][4]).exists()
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in re.findall(r"^COPY (\w+) ", dockerfile, flags=re.M):
        assert (ROOT / folder).is_dir(), folder
    assert SERVICES["simulator"]["profiles"] == ["demo"]
    assert (ROOT / "simulators" / "__main__.py").exists()
