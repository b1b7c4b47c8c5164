"""``python -m sources``: the commands of docs/sources.md run as written."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import orjson
import pytest

from sources.__main__ import main
from stream.embedded import Proc
from stream.events import parse_event
from tests.sources.helpers import read_topic

ROOT = Path(__file__).parents[2]
HAND = Path(__file__).parent / "data" / "queue_log_all_events"


def test_queue_log_import_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue-log", "import", str(HAND), "--tenant", "acme", "--dry-run", "--json"]) == 0
    out, err = capsys.readouterr()
    events = [orjson.loads(line) for line in out.splitlines()]
    assert len(events) == 44 and all(parse_event(e).tenant == "acme" for e in events)
    summary = orjson.loads(err.strip().splitlines()[-1])
    assert summary["dead_lettered"] == {"bad_number": 1, "bad_timestamp": 1, "too_few_fields": 1}


def test_cdr_import_dry_run_strict(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "cdr",
        "import",
        str(ROOT / "sources/samples/cdr-sample.csv"),
        "--mapping",
        str(ROOT / "config/cdr-mapping.example.yaml"),
        "--dry-run",
    ]
    assert main(args) == 0
    assert main([*args, "--strict"]) == 2  # the sample has rows that cannot be repaired
    err = capsys.readouterr().err
    assert "rows read: 21, imported: 13" in err and "dead-lettered: 5" in err


def test_bad_mapping_is_an_error_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("tenant: acme\ncolumns: {queue: Q}\n")
    assert main(["cdr", "import", "x.csv", "--mapping", str(bad), "--dry-run"]) == 1
    assert "columns.outcome" in capsys.readouterr().err


def test_queue_log_import_to_kafka(tansu: Proc, capsys: pytest.CaptureFixture[str]) -> None:
    broker = f"kafka://127.0.0.1:{tansu.port}"
    topic, dlq = f"cli-{uuid.uuid4().hex[:8]}", f"cli-dlq-{uuid.uuid4().hex[:8]}"
    code = main(
        [
            "queue-log",
            "import",
            str(HAND),
            "--tenant",
            "acme",
            "--broker",
            broker,
            "--topic",
            topic,
            "--deadletter-topic",
            dlq,
        ]
    )
    assert code == 0
    events = asyncio.run(read_topic(broker, topic, lambda vs: len(vs) >= 44))
    assert len(events) == 44
    dead = asyncio.run(read_topic(broker, dlq, lambda vs: len(vs) >= 3))
    assert sorted(d["line"] for d in dead) == [31, 33, 34]


def test_openapi_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "openapi"]) == 0
    assert orjson.loads(capsys.readouterr().out)["paths"]["/events"]["post"]["operationId"] == "postEvents"


def test_ingest_serve_under_uvicorn(tansu: Proc) -> None:
    """The real service: ``python -m sources ingest serve`` in its own process, on a free port."""
    import subprocess
    import sys
    import time

    import httpx

    from stream.embedded import child_env, free_port, wait_port

    port = free_port()
    token = "cli-token-abcdefghijklmnop"
    env = child_env(
        CALLPULSE_KAFKA_BROKER=f"kafka://127.0.0.1:{tansu.port}",
        CALLPULSE_EVENTS_TOPIC=f"cli-serve-{uuid.uuid4().hex[:8]}",
        CALLPULSE_INGEST_TOKENS=f"acme={token}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sources", "ingest", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_port(port, timeout=60, proc=proc)
        deadline = time.monotonic() + 60
        while httpx.get(f"http://127.0.0.1:{port}/healthz").status_code != 200:
            assert time.monotonic() < deadline, "ingest never became ready"
            time.sleep(0.1)
        ev = {"event_id": "cli-1", "type": "call_offered", "ts": 1795338000000, "call_id": "c", "queue": "q"}
        r = httpx.post(
            f"http://127.0.0.1:{port}/events", json=ev, headers={"Authorization": f"Bearer {token}"}
        )
        assert (r.status_code, r.json()) == (202, {"accepted": 1, "rejected": []})
        assert httpx.post(f"http://127.0.0.1:{port}/events", json=ev).status_code == 401
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert token.encode() not in out  # the secret never reaches the log
