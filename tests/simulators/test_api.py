"""Determinism, volumes, configuration errors, pacing (fake clock), replay, the CLI and Kafka output."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from simulators import generate, load_center, run_live
from simulators.config import center_from_dict, load_scenario, shipped_scenarios
from simulators.output import ListSink, pump
from simulators.replay import replay
from stream.embedded import Proc
from stream.errors import ConfigError
from stream.events import parse_event

START = "2026-11-25T08:00:00+08:00"


def small() -> object:
    return load_center("base").scaled(0.05)


def test_same_seed_same_events_and_ids_unique() -> None:
    a = list(generate(small(), seed=9, start=START, duration="2h"))  # type: ignore[arg-type]
    b = list(generate(small(), seed=9, start=START, duration="2h"))  # type: ignore[arg-type]
    c = list(generate(small(), seed=10, start=START, duration="2h"))  # type: ignore[arg-type]
    assert a == b
    assert a != c
    assert len({e["event_id"] for e in a}) == len(a)
    assert {e["event_id"] for e in a}.isdisjoint(e["event_id"] for e in c)
    for ev in a[:2000]:
        parse_event(ev)  # valid v1 wire form
    assert all(e["tenant"] == "demo" for e in a)


def test_volume_follows_calls_per_day_and_day_factor() -> None:
    doc = {
        "timezone": "Asia/Shanghai",
        "day_factors": {"mon": 1.2, "sun": 0.5},
        "queues": {"q": {"calls_per_day": 20_000, "patience": "never"}},
        "agents": [{"group": "g", "count": 0, "skills": ["q"]}],
    }
    center = center_from_dict(doc)
    monday = Counter(e["type"] for e in generate(center, 1, "2026-11-23", "1d"))
    sunday = Counter(e["type"] for e in generate(center, 1, "2026-11-29", "1d"))
    assert abs(monday["call_offered"] - 24_000) < 4 * 24_000**0.5
    assert abs(sunday["call_offered"] - 10_000) < 4 * 10_000**0.5


def test_intraday_profile_has_morning_and_afternoon_peaks() -> None:
    center = load_center("base")
    offered = [e["ts"] for e in generate(center, 2, "2026-11-25", "1d") if e["type"] == "call_offered"]
    start = offered[0] - offered[0] % 1_800_000
    per_slot = Counter((t - start) // 1_800_000 for t in offered)
    night, morning, lunch, afternoon = per_slot[6], per_slot[20], per_slot[25], per_slot[29]
    assert night * 10 < morning
    assert lunch < morning and lunch < afternoon


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"queues": {}}, "queues"),
        ({"queues": {"q": {}}}, "calls_per_day"),
        ({"queues": {"q": {"calls_per_day": 1, "talk": {"dist": "weibull"}}}}, "weibull"),
        ({"queues": {"q": {"calls_per_day": 1, "overflow": {"after": "2m", "to": "nope"}}}}, "nope"),
        ({"queues": {"q": {"calls_per_day": 1}}, "agents": [{"skills": {"x": 1}}]}, "skill 'x'"),
        ({"queues": {"q": {"calls_per_day": 1}}, "agents": [{"skills": ["q"], "shift": "9-5"}]}, "HH:MM"),
        ({"queues": {"q": {"calls_per_day": 1}}, "timezone": "Mars/Base"}, "Mars/Base"),
        ({"queues": {"q": {"calls_per_day": 1}}, "tenant": "a b"}, "tenant"),
        ({"queues": {"q": {"calls_per_day": 1, "hold_prob": 2}}}, "hold_prob"),
        ({"queues": {"q": {"calls_per_day": 1}}, "effects": [{"kind": "staffing", "factor": 2}]}, "staffing"),
        ({"queues": {"q": {"calls_per_day": 1, "colour": "red"}}}, "colour"),
    ],
)
def test_bad_configuration_is_rejected_with_the_key(doc: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        center_from_dict(doc)


def test_shipped_scenarios_load() -> None:
    assert set(shipped_scenarios()) == {"network_outage", "agent_no_show", "system_slowdown"}
    kinds = {load_scenario(n).effects[0].kind for n in shipped_scenarios()}
    assert kinds == {"volume", "staffing", "handle_time"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, s: float) -> None:
        self.sleeps.append(round(s, 6))
        self.now += s


def test_pacing_sleeps_until_each_event_is_due_and_flushes_before_sleeping() -> None:
    events = [{"ts": t, "n": i} for i, t in enumerate([0, 0, 1000, 1000, 5000])]
    clock, sink = FakeClock(), ListSink()
    asyncio.run(pump(events, sink, speed=2.0, ts0=0, clock=clock, sleep=clock.sleep))
    assert clock.sleeps == [0.5, 2.0]  # ×2: 1 s of event time = 0.5 s of wall time
    assert [[e["n"] for e in b] for b in sink.batches] == [[0, 1], [2, 3], [4]]


def test_max_speed_never_sleeps() -> None:
    clock, sink = FakeClock(), ListSink()
    asyncio.run(
        pump([{"ts": t} for t in range(0, 10**7, 10**5)], sink, speed=None, clock=clock, sleep=clock.sleep)
    )
    assert clock.sleeps == []
    assert sum(map(len, sink.batches)) == 100


def test_replay_retimes_and_renames_or_keeps(tmp_path: Path) -> None:
    src = list(generate(small(), seed=3, start=START, duration="30m"))  # type: ignore[arg-type]
    path = tmp_path / "rec.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in src))
    sink = ListSink()
    now = 1_800_000_000_000
    asyncio.run(replay(path, sink, speed=None, retime=True, now_ms=now))
    out = [e for b in sink.batches for e in b]
    assert out[0]["ts"] == now
    assert [e["ts"] - now for e in out] == [e["ts"] - src[0]["ts"] for e in src]
    assert all(
        o["event_id"] != s["event_id"] and o["event_id"].startswith(s["event_id"])
        for o, s in zip(out, src, strict=True)
    )
    kept = ListSink()
    asyncio.run(replay(path, kept, speed=None, retime=False))
    assert [e for b in kept.batches for e in b] == src


def test_cli_run_check_and_help(tmp_path: Path) -> None:
    out = tmp_path / "day.jsonl"
    cmd = [sys.executable, "-m", "simulators"]
    run = [*cmd, "run", "--scale", "0.05", "--speed", "max", "--start", START, "--duration", "3h"]
    subprocess.run([*run, "--out", str(out), "--seed", "5", "-q"], check=True, timeout=120)
    lines = out.read_bytes().splitlines()
    expected = list(generate(small(), seed=5, start=START, duration="3h"))  # type: ignore[arg-type]
    assert [orjson.loads(x) for x in lines] == expected
    checked = subprocess.run([*cmd, "check", str(out)], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0 and "consistent" in checked.stdout
    helptext = subprocess.run([*cmd, "run", "--help"], capture_output=True, text=True, check=True).stdout
    for option in (
        "--speed",
        "--start",
        "--duration",
        "--scenario",
        "--broker",
        "--topic",
        "--out",
        "--seed",
    ):
        assert option in helptext
    bad = subprocess.run(
        [*cmd, "run", "--scenario", "nope", "--out", str(out)], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "nope" in bad.stderr


async def test_run_live_publishes_to_kafka(tansu: Proc, unique: str) -> None:
    topic = f"sim-{unique}"
    center = small()
    n = await run_live(
        center,  # type: ignore[arg-type]
        seed=6,
        broker=f"kafka://127.0.0.1:{tansu.port}",
        topic=topic,
        speed=None,
        start=START,
        duration="1h",
        progress_every=None,
    )
    expected = list(generate(center, seed=6, start=START, duration="1h"))  # type: ignore[arg-type]
    assert n == len(expected) > 100
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=f"127.0.0.1:{tansu.port}", auto_offset_reset="earliest"
    )
    await consumer.start()
    got: list[dict] = []
    try:
        while len(got) < n:
            batch = await consumer.getmany(timeout_ms=2000)
            if not batch:
                break
            for msgs in batch.values():
                got.extend(orjson.loads(m.value) for m in msgs)
    finally:
        await consumer.stop()
    assert sorted(e["event_id"] for e in got) == sorted(e["event_id"] for e in expected)
    per_call: dict[str, list[int]] = {}
    for e in got:
        if "call_id" in e:
            per_call.setdefault(e["call_id"], []).append(e["ts"])
    assert all(ts == sorted(ts) for ts in per_call.values())  # one partition per call, in order
