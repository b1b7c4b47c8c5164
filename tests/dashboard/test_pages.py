"""AppTest for every page, reading a real Redis filled by the project's own store writer.

``run_every`` does not tick inside AppTest (PLATFORM-NOTES): each check calls ``at.run()``
again after changing Redis, and the clock is fixed through ``session_state["cp_now_ms"]``.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import ui
from stream.keys import Keys
from tests.dashboard import seed

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def app(now: int = seed.NOW, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for k, v in query.items():
        at.query_params[k] = v
    at.session_state[ui.NOW_KEY] = now
    return at


def html_of(at: AppTest) -> str:
    return "".join(h.proto.body for h in at.html)


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title]
    parts += [s.value for s in at.subheader] + [i.value for i in at.info] + [w.value for w in at.warning]
    parts += [e.value for e in at.success]
    return "\n".join(str(p) for p in parts)


def test_wall_board_shows_the_floor(floor) -> None:
    at = app(view="wall", tenant=seed.TENANT, group="floor", lang="en").run()
    assert not at.exception
    board = html_of(at)
    assert board.count('class="tile ') == 12
    # the last queue has a call waiting 63 s: past the 60 s limit -> red, pulsing, with an icon
    assert 'data-queue="q12"' in board
    tile12 = board.split('data-queue="q12"')[1].split('class="tile ')[0]
    assert "01:03" in tile12 and "lv-crit" in tile12
    assert 'class="tile lv-crit pulse" data-queue="q12"' in board
    assert "Group total" in board and "No active alerts" in board
    assert "Worker" in board and "alive" in board


def test_wall_board_language_and_group_from_url(floor) -> None:
    at = app(view="wall", tenant=seed.TENANT, group="pair").run()  # tenant says zh
    board = html_of(at)
    assert board.count('class="tile ') == 2 and "排队数" in board and "普通业务" in board
    at = app(view="wall", tenant=seed.TENANT, group="pair", lang="en").run()
    assert "Waiting" in html_of(at) and "排队数" not in html_of(at)


def test_wall_board_updates_on_rerun_and_shares_one_read(floor) -> None:
    at = app(view="wall", tenant=seed.TENANT, group="pair", lang="en").run()
    assert 'data-queue="q01"' in html_of(at)
    src = ui.source()
    reads = src.round_trips
    # a second session at the same tick costs no read at all
    app(now=seed.NOW, view="wall", tenant=seed.TENANT, group="pair", lang="en").run()
    assert src.round_trips == reads
    # new calls waiting in q01 show at the next tick
    later = seed.NOW + 2000
    floor.fill(
        [
            {
                "event_id": f"x{i}",
                "type": "call_offered",
                "ts": later - 75_000,
                "tenant": seed.TENANT,
                "call_id": f"x{i}",
                "queue": "q01",
            }
            for i in range(7)
        ],
        now_ms=later,
    )
    at.session_state[ui.NOW_KEY] = later
    at.run()
    tile = html_of(at).split('data-queue="q01"')[1].split('class="tile ')[0]
    assert '<div class="v lv-ok">7</div>' in tile and "01:15" in tile


def test_wall_board_stale_banner_and_recovery(floor) -> None:
    later = seed.NOW + 30_000  # heartbeat was written at NOW: 30 s old
    at = app(now=later, view="wall", tenant=seed.TENANT, group="pair", lang="en").run()
    board = html_of(at)
    assert "DATA STOPPED" in board and 'class="cpw theme-dark stale"' in board
    seed.beat(floor.client, floor.prefix, later + 1000)
    at.session_state[ui.NOW_KEY] = later + 1000
    at.run()
    assert "DATA STOPPED" not in html_of(at) and "stale" not in html_of(at).split(">")[0]


def test_wall_board_redis_down_is_a_banner_not_a_traceback(floor, monkeypatch: pytest.MonkeyPatch) -> None:
    from stream.embedded import free_port

    monkeypatch.setenv("CALLPULSE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    at = app(view="wall", tenant=seed.TENANT, group="pair", lang="en").run()
    assert not at.exception
    assert "NO CONNECTION" in html_of(at) or "Cannot reach" in html_of(at)


def test_wall_board_unknown_group(floor) -> None:
    at = app(view="wall", tenant=seed.TENANT, group="nope", lang="en").run()
    assert not at.exception and "Unknown group" in html_of(at)


def test_wall_board_shows_firing_alerts(floor) -> None:
    key = f"{Keys(floor.prefix).alert_prefix(seed.TENANT)}:firing"
    floor.client.hset(
        key,
        "sl-q12",
        orjson.dumps(
            {
                "rule": "sl_low",
                "severity": "critical",
                "tenant": seed.TENANT,
                "queue": "q12",
                "metric": "service_level",
                "value": 0.33,
                "threshold": 0.7,
                "since_ms": seed.NOW - 120_000,
                "state": "firing",
                "message_en": "Service level q12 33% < 70%",
                "message_zh": "老年专席 服务水平 33% 低于 70%",
            }
        ),
    )
    floor.client.hset(key, "junk", b"not json")  # another team's writer: malformed entries are skipped
    at = app(view="wall", tenant=seed.TENANT, group="floor", lang="zh").run()
    board = html_of(at)
    assert "老年专席 服务水平 33% 低于 70%" in board and "09:22" in board


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_overview(floor, lang: str) -> None:
    at = app(tenant=seed.TENANT, lang=lang).run()
    assert not at.exception
    assert at.title[0].value == {"zh": "总览", "en": "Overview"}[lang]
    metrics = {m.label: m.value for m in at.metric}
    offered = metrics[{"zh": "呼入量", "en": "Offered"}[lang]]
    assert int(offered.replace(",", "")) > 1000
    assert len(at.get("plotly_chart")) == 3
    assert len(at.dataframe) == 1


def test_compare_table_and_exports(floor) -> None:
    at = app(tenant=seed.TENANT, lang="en")
    at.switch_page("views/compare.py")
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Queue"])[:2] == ["普通业务", "宽带报修"] and len(table) == 13  # 12 queues + total
    assert table["Offered"].iloc[-1] == table["Offered"].iloc[:-1].sum()
    assert len(at.get("download_button")) == 4


def test_agents_page_flags_long_aux(floor) -> None:
    at = app(tenant=seed.TENANT, lang="en")
    at.switch_page("views/agents.py")
    at.run()
    assert not at.exception
    counts = {m.label: m.value for m in at.metric}
    assert int(counts["On call"]) > 0 and int(counts["Aux"]) > 0
    df = at.dataframe[0].value
    df = df.data if hasattr(df, "data") else df
    flagged = df[df["Over limit"] == "⚠"]
    assert len(flagged) > 0 and set(flagged["State"]) <= {"Aux", "Wrap-up"}


def test_callbacks_page_marks_callers_who_got_through(floor) -> None:
    # caller X abandons in q01, then calls again and is answered: marked as got through
    t = seed.NOW - 50_000
    ev = [
        {"type": "call_offered", "ts": t, "call_id": "cb1", "queue": "q01", "caller": "13900001111"},
        {"type": "call_abandoned", "ts": t + 20_000, "call_id": "cb1", "queue": "q01", "wait_s": 20},
        {"type": "call_offered", "ts": t + 30_000, "call_id": "cb2", "queue": "q01", "caller": "13900001111"},
        {
            "type": "call_answered",
            "ts": t + 35_000,
            "call_id": "cb2",
            "queue": "q01",
            "agent_id": "z",
            "wait_s": 5,
        },
        {"type": "call_offered", "ts": t, "call_id": "cb3", "queue": "q02", "caller": "13900002222"},
        {"type": "call_abandoned", "ts": t + 40_000, "call_id": "cb3", "queue": "q02", "wait_s": 40},
    ]
    floor.fill([{"event_id": f"cb-{i}", "tenant": seed.TENANT, **e} for i, e in enumerate(ev)])
    at = app(tenant=seed.TENANT, lang="en")
    at.switch_page("views/callbacks.py")
    at.run()
    assert not at.exception
    df = at.dataframe[0].value
    df = df.data if hasattr(df, "data") else df
    row1 = df[df["Caller"] == "13900001111"].iloc[0]
    row2 = df[df["Caller"] == "13900002222"].iloc[0]
    assert row1["Got through later"].startswith("✔") and row1["Wait"] == "00:20"
    assert row2["Got through later"] == "" and row2["Queue"] == "宽带报修"
    assert len(at.get("download_button")) == 2


def test_alerts_page(floor) -> None:
    prefix = Keys(floor.prefix).alert_prefix(seed.TENANT)
    floor.client.hset(
        f"{prefix}:firing",
        "a1",
        orjson.dumps(
            {
                "rule": "wait_long",
                "severity": "warning",
                "queue": "q05",
                "since_ms": seed.NOW - 60_000,
                "message_en": "Oldest wait q05 00:34",
                "message_zh": "套餐办理 最长等待 00:34",
            }
        ),
    )
    floor.client.lpush(
        f"{prefix}:history",
        orjson.dumps(
            {
                "rule": "wait_long",
                "queue": "q05",
                "state": "firing",
                "ts_ms": seed.NOW - 60_000,
                "value": 34,
                "threshold": 30,
                "severity": "warning",
            }
        ),
    )
    floor.client.lpush(
        f"{floor.prefix}:alert:delivery_failures",
        orjson.dumps(
            {
                "channel": "wecom",
                "rule": "wait_long",
                "ts_ms": seed.NOW - 50_000,
                "error": "HTTP 503",
                "attempt": 2,
            }
        ),
    )
    at = app(tenant=seed.TENANT, lang="zh")
    at.switch_page("views/alerts.py")
    at.run()
    assert not at.exception
    assert len(at.dataframe) == 3
    assert "套餐办理 最长等待 00:34" in list(at.dataframe[0].value["内容"])
    assert "HTTP 503" in list(at.dataframe[2].value["错误"])
    # An alert message's link (/alerts?tenant=…&queue=…) shows that queue's alerts only.
    other = app(tenant=seed.TENANT, lang="zh", queue="q01")
    other.switch_page("views/alerts.py")
    other.run()
    assert not other.exception and "当前没有告警。" in texts(other)
    same = app(tenant=seed.TENANT, lang="zh", queue="q05")
    same.switch_page("views/alerts.py")
    same.run()
    assert "套餐办理 最长等待 00:34" in list(same.dataframe[0].value["内容"])


def test_alerts_page_empty_when_alerting_wrote_nothing(floor) -> None:
    at = app(tenant=seed.TENANT, lang="en")
    at.switch_page("views/alerts.py")
    at.run()
    assert not at.exception and "No alert is firing." in texts(at)


def test_ops_page_shows_workers_and_dead_letters(floor) -> None:
    keys = Keys(floor.prefix)
    floor.client.hset(keys.dlq_counts, "bad_duration", 3)
    floor.client.lpush(
        keys.dlq_recent,
        orjson.dumps(
            {
                "reason": "bad_duration",
                "detail": "wait_s must be >= 0",
                "raw": "{}",
                "rejected_at_ms": seed.NOW,
            }
        ),
    )
    at = app(tenant=seed.TENANT, lang="en")
    at.switch_page("views/ops.py")
    at.run()
    assert not at.exception
    assert "w-test" in list(at.dataframe[0].value["Worker"])
    assert list(at.dataframe[1].value["Count"]) == [3]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_definitions_page_from_kpis_source(floor, lang: str) -> None:
    from stream.kpis import DEFINITIONS

    at = app(lang=lang)
    at.switch_page("views/definitions.py")
    at.run()
    assert not at.exception
    table = at.table[0].value
    assert len(table) == len(DEFINITIONS)
    names = [d[2] if lang == "zh" else d[1] for d in DEFINITIONS]
    assert list(table.index) == names
