"""Acceptance: a hand-built day replayed through broker, Faust worker and Redis gives exactly the
hand-computed KPIs. The file (tests/data/e2e_day.jsonl) has calls crossing interval boundaries,
events exactly on a boundary, late and out-of-order events, duplicates, short abandons with a
5 s threshold, an overflow, two tenants in different time zones, a day boundary and a call with
no wrap-up. Every expected number below is worked out by hand in the comments.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.fixture(scope="module")
def replayed() -> dict:
    """Run the real ``python -m stream replay`` command (it starts its own Tansu, Redis, worker)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPULSE_")}
    env["CALLPULSE_CONFIG"] = str(DATA / "e2e_center.yaml")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "stream",
            "replay",
            str(DATA / "e2e_day.jsonl"),
            "--embedded",
            "--timeout",
            "120",
        ],
        env=env,
        capture_output=True,
        check=True,
        timeout=170,
    )
    return json.loads(out.stdout)


def row(result: dict, tenant: str, queue: str, start: str) -> dict:
    rows = [
        r
        for r in result["tenants"][tenant]["intervals"]
        if r["queue"] == queue and r["start_ms"] == ms(start)
    ]
    assert len(rows) == 1, f"no single row for {tenant}/{queue}/{start}"
    return rows[0]


@pytest.mark.slow
def test_sh_general_0900(replayed: dict) -> None:
    # Offered 09:01 c6, 09:05 c2, 09:06 c3, 09:10 c4, 09:13 c5, 09:14:50 c1 = 6.
    # Answered: c6 (5 s, late in the file), c5 (16 s) = 2; within 15 s: c6 only.
    # Abandoned: c2 (3 s: short, threshold 5 s), c3 (20 s, delivered twice) = 2, short 1.
    # Overflowed: c4 after 30 s.  closed = 2 + 2 + 1 - 1 = 4.
    r = row(replayed, "sh", "general", "2026-11-22T09:00:00+08:00")
    assert (
        r["offered"],
        r["answered"],
        r["abandoned"],
        r["short_abandoned"],
        r["overflowed"],
        r["closed"],
    ) == (6, 2, 2, 1, 1, 4)
    assert r["answer_rate"] == 2 / 4
    assert r["service_level"] == r["service_level_15"] == 1 / 4
    assert r["abandon_rate"] == (2 - 1) / 4
    assert r["asa_s"] == (5 + 16) / 2
    assert r["max_wait_s"] == 30.0
    # Only c6 ended here (talk 110 + hold 10) and wrapped up (30): AHT = 150 s.
    assert (r["ended"], r["wrapups"], r["aht_s"]) == (1, 1, 150.0)


@pytest.mark.slow
def test_sh_general_0915_boundary_and_crossing_calls(replayed: dict) -> None:
    # c1 answered at exactly 09:15:00 (offered 09:14:50): the answer belongs to the later interval.
    # Ended here: c5 (offered 09:13, talk 170 + hold 10) and c1 (talk 290 + hold 10, ts as epoch ms);
    # wrap-ups c5 30 s, c1 30 s.  AHT = (170 + 10 + 290 + 10 + 30 + 30) / 2 = 270 s.
    r = row(replayed, "sh", "general", "2026-11-22T09:15:00+08:00")
    assert (r["offered"], r["answered"], r["closed"], r["answered_within_15"]) == (0, 1, 1, 1)
    assert (r["answer_rate"], r["service_level"], r["abandon_rate"], r["asa_s"]) == (1.0, 1.0, 0.0, 10.0)
    assert (r["ended"], r["wrapups"], r["aht_s"]) == (2, 2, 270.0)


@pytest.mark.slow
def test_sh_overflow_target_and_call_without_wrapup(replayed: dict) -> None:
    # c4 re-offered in vip at 09:10:30, answered after 10 s, talk 120, no hold field, no wrap-up.
    r = row(replayed, "sh", "vip", "2026-11-22T09:00:00+08:00")
    assert (r["offered"], r["answered"], r["closed"], r["service_level"]) == (1, 1, 1, 1.0)
    assert (r["ended"], r["wrapups"], r["aht_s"], r["avg_acw_s"]) == (1, 0, 120.0, None)


@pytest.mark.slow
def test_sh_day_boundary(replayed: dict) -> None:
    # c7 offered 23:59:55 on the 22nd, answered 00:00:05 on the 23rd (local).
    before = row(replayed, "sh", "general", "2026-11-22T23:45:00+08:00")
    assert (before["offered"], before["closed"], before["answer_rate"], before["service_level"]) == (
        1,
        0,
        None,
        None,
    )
    after = row(replayed, "sh", "general", "2026-11-23T00:00:00+08:00")
    assert (after["offered"], after["answered"], after["aht_s"]) == (0, 1, 120.0)


@pytest.mark.slow
def test_ny_half_hour_intervals_in_its_own_zone(replayed: dict) -> None:
    # New York, 30-minute intervals, SL at 20 s, no short abandons.
    # 10:00: offer n1 at 10:29:59 (delivered twice) = 1.
    first = row(replayed, "ny", "support", "2026-11-22T10:00:00-05:00")
    assert (first["offered"], first["closed"]) == (1, 0)
    # 10:30: offers n2 (exactly 10:30:00), n3; n1 answered after 20 s (within: <= 20 s), n2
    # abandoned after 1 s (not short: threshold 0), n3 overflowed after 60 s; n1 ended (300 s),
    # wrapped up (60 s).
    r = row(replayed, "ny", "support", "2026-11-22T10:30:00-05:00")
    assert (
        r["offered"],
        r["answered"],
        r["abandoned"],
        r["short_abandoned"],
        r["overflowed"],
        r["closed"],
    ) == (2, 1, 1, 0, 1, 3)
    assert r["answer_rate"] == 1 / 3 and r["abandon_rate"] == 1 / 3
    assert r["service_level"] == r["service_level_20"] == 1 / 3
    assert (r["asa_s"], r["max_wait_s"], r["aht_s"]) == (20.0, 60.0, 360.0)


@pytest.mark.slow
def test_no_other_rows_and_duplicates_counted_once(replayed: dict) -> None:
    sh = {(r["queue"], r["start_ms"]) for r in replayed["tenants"]["sh"]["intervals"]}
    assert sh == {
        ("general", ms("2026-11-22T09:00:00+08:00")),
        ("general", ms("2026-11-22T09:15:00+08:00")),
        ("vip", ms("2026-11-22T09:00:00+08:00")),
        ("general", ms("2026-11-22T23:45:00+08:00")),
        ("general", ms("2026-11-23T00:00:00+08:00")),
    }
    # 30 lines for sh, 2 of them duplicates; 9 lines for ny, 1 duplicate.
    assert replayed["tenants"]["sh"]["meta"]["events"] == 28
    # (duplicates also counts any Kafka redelivery, so it is at least the file's own)
    assert replayed["tenants"]["sh"]["meta"]["duplicates"] >= 2
    assert replayed["tenants"]["ny"]["meta"]["events"] == 8
    assert replayed["tenants"]["ny"]["meta"]["duplicates"] >= 1
    assert replayed["deadletter"] == {}
