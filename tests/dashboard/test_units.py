"""Pure parts of the dashboard: formatting, translations, the tick cache, the wall renderer."""

from __future__ import annotations

import re
import threading
import time

import pytest

from dashboard import fmt, wall
from dashboard.data import TickCache, WallData, parse_alert
from dashboard.i18n import LABELS, pick_lang, t
from stream.config import CenterConfig


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "00:00"),
        (5.4, "00:05"),
        (83, "01:23"),
        (599.6, "10:00"),
        (3600, "1:00:00"),
        (-3, "00:00"),
    ],
)
def test_mmss(seconds: float | None, text: str) -> None:
    assert fmt.mmss(seconds) == text


@pytest.mark.parametrize(("frac", "text"), [(None, "—"), (0.0, "0.0%"), (0.8534, "85.3%"), (1.0, "100.0%")])
def test_pct(frac: float | None, text: str) -> None:
    assert fmt.pct(frac) == text


def test_every_label_has_both_languages_and_same_fields() -> None:
    for key, (en, zh) in LABELS.items():
        assert en and zh, key
        assert set(re.findall(r"{(\w+)}", en)) == set(re.findall(r"{(\w+)}", zh)), key


def test_language_choice() -> None:
    assert pick_lang("en", "zh") == "en" and pick_lang(None, "zh") == "zh" and pick_lang("fr", "en") == "en"
    assert t("wall_page", "zh", i=1, n=2) == "第 1/2 页"


def test_tick_cache_loads_once_per_tick_for_concurrent_callers() -> None:
    cache, calls = TickCache(), []

    def load() -> int:
        calls.append(1)
        time.sleep(0.05)
        return len(calls)

    threads = [threading.Thread(target=cache.get, args=("k", 7, load)) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1 and cache.get("k", 7, load) == 1 and cache.get("k", 8, load) == 2


def test_parse_alert_is_defensive() -> None:
    assert parse_alert("x", b"not json") is None and parse_alert("x", b"[1]") is None
    a = parse_alert("x", b'{"rule":"r","severity":"critical","value":"bad","message_en":"m"}')
    assert a is not None and a.value is None and a.message("zh") == "m"


def test_wall_renders_problem_states_without_data() -> None:
    cfg = CenterConfig().tenant("t")
    down = WallData("t", None, ["q"], 0, None, None, "redis_down", None)
    html = wall.render(down, cfg, {}, "en")
    assert "NO CONNECTION" in html and "stale" in html
    unknown = WallData("t", "g", [], 0, None, None, "unknown_group", None)
    assert "Unknown group" in wall.render(unknown, cfg, {}, "en")


def test_sparkline_has_gaps_for_minutes_without_data() -> None:
    img = wall._spark([0.5, None, 1.0, 0.9])
    assert img.startswith('<img class="spark') and "circle" in img and "polyline" in img
    assert wall._spark([]) == ""
