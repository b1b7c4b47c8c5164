"""The rules file: the shipped defaults, validation errors with lines, reload keeping good rules."""

import os
from pathlib import Path

import pytest

from stream.alerts.rules import (
    RulesError,
    RulesFile,
    load_rules,
    parse_duration,
    parse_rules,
    parse_threshold,
)
from stream.config import CenterConfig

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
version: 1
channels:
  team: {env: CALLPULSE_CHANNEL_TEAM, lang: zh}
rules:
  - name: sl
    queues: [sales*, vip]
    metric: service_level_15
    window: 15m
    threshold: warn
    for: 2s
    min_volume: 3
    cooldown: 4s
    severity: critical
"""


def test_shipped_defaults_are_valid() -> None:
    rules = load_rules(ROOT / "config" / "alerts.yaml")
    names = {r.name for r in rules.rules}
    assert names == {
        "service_level_low",
        "abandon_rate_high",
        "oldest_wait_long",
        "queue_too_long",
        "no_agent_available",
        "stream_heartbeat_lost",
    }
    sl = rules.by_name("service_level_low")
    assert sl is not None and sl.for_s == 300 and sl.min_volume == 20 and rules.channels_of(sl) == ("oncall",)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("90s", 90), ("2h", 7200), ("500ms", 0.5), (0, 0), (12, 12), ("1.5s", 1.5), ("1d", 86400)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "-3s", "abc", True, ""])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("text", "value"), [("80%", 0.8), (0.8, 0.8), ("60", 60.0), ("warn", "warn"), ("crit", "crit")]
)
def test_thresholds(text: object, value: object) -> None:
    assert parse_threshold(text) == value


def test_parse_good_and_defaults() -> None:
    rules = parse_rules(GOOD)
    r = rules.rules[0]
    assert (r.effective_window, r.for_s, r.cooldown_s, r.threshold, r.op) == (
        "rolling_15",
        2.0,
        4.0,
        "warn",
        None,
    )
    assert rules.channels_of(r) == ("team",) and rules.channels["team"].lang == "zh"


@pytest.mark.parametrize(
    ("replace", "line", "problem"),
    [
        ("threshold: warn", 9, "rules[0].threshold: expected a number"),  # replaced by 'high'
        ("metric: service_level_15", 7, "unknown metric 'sevice_level'"),
        ("for: 2s", 10, "rules[0].for: expected a duration"),
        ("severity: critical", 13, "rules[0].severity: Input should be 'info', 'warning' or 'critical'"),
        ("window: 15m", 8, "rules[0].window: Input should be"),
        ("min_volume: 3", 11, "rules[0].min_volume: Input should be greater than or equal to 0"),
    ],
)
def test_invalid_names_line_and_problem(replace: str, line: int, problem: str) -> None:
    bad_values = {
        "threshold: warn": "threshold: high",
        "metric: service_level_15": "metric: sevice_level",
        "for: 2s": "for: soon",
        "severity: critical": "severity: panic",
        "window: 15m": "window: 10m",
        "min_volume: 3": "min_volume: -1",
    }
    text = GOOD.replace(replace, bad_values[replace])
    with pytest.raises(RulesError) as e:
        parse_rules(text, source="alerts.yaml")
    assert f"alerts.yaml line {line}: " in str(e.value), str(e.value)
    assert problem in str(e.value)


def test_invalid_cross_checks() -> None:
    text = (
        GOOD
        + """\
  - name: sl
    metric: waiting
    window: today
    threshold: 10
    channels: [nobody]
    message: {en: "queue {queue} is {valeu}"}
"""
    )
    with pytest.raises(RulesError) as e:
        parse_rules(text, source="r.yaml")
    msg = str(e.value)
    assert "r.yaml line 14: rules[1].name: duplicate rule name 'sl'" in msg
    assert "r.yaml line 16: rules[1].window: waiting is live state" in msg
    assert "r.yaml line 17: rules[1].threshold: a numeric threshold needs op" in msg
    assert "r.yaml line 18: rules[1].channels: unknown channel 'nobody'" in msg
    assert "r.yaml line 19: rules[1].message.en: unknown placeholder {valeu}" in msg


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(RulesError, match=r"x.yaml line 7: not valid YAML: .*flow sequence at line 6"):
        parse_rules(GOOD.replace("    queues: [sales*, vip]", "    queues: [sales*, vip"), source="x.yaml")
    with pytest.raises(RulesError, match=r"line 1: the top level must be a mapping"):
        parse_rules("- a\n- b\n")
    with pytest.raises(RulesError, match=r"rules\[0\]: Extra inputs|rules\[0\].colour: Extra inputs"):
        parse_rules(GOOD + "    colour: red\n")


def test_selectors_names_globs_and_groups() -> None:
    rules = parse_rules(GOOD.replace("[sales*, vip]", "[sales*, vip, front]"))
    r = rules.rules[0]
    cfg = CenterConfig.parse_yaml("defaults: {groups: {front: [billing, support]}}").tenant("any")
    assert [
        q for q in ("sales", "sales_north", "vip", "billing", "support", "other") if r.matches_queue(cfg, q)
    ] == [
        "sales",
        "sales_north",
        "vip",
        "billing",
        "support",
    ]


def test_board_thresholds_are_the_alert_thresholds() -> None:
    cfg = CenterConfig.parse_yaml(
        "defaults:\n  thresholds: {service_level: {warn: 0.9, crit: 0.75, direction: below}}\n"
        "  queues: {vip: {max_waiting: 4}}\n"
    ).tenant("t")
    rules = parse_rules(
        GOOD
        + "  - {name: w, metric: waiting, threshold: crit}\n"
        + "  - {name: ab, metric: abandon_rate, threshold: crit}\n"
    )
    sl, w, ab = rules.rules
    assert sl.resolve_threshold(cfg, "sales") == (0.9, "<=")  # tenant override, direction below
    assert w.resolve_threshold(cfg, "vip") == (4, ">=")  # the queue's max_waiting
    assert w.resolve_threshold(cfg, "other") == (20, ">=")  # default board threshold
    assert ab.resolve_threshold(cfg, None) == (0.10, ">=")
    assert cfg.threshold("service_level", "sales").level(0.9) == "warn"  # the colour agrees


def test_reload_keeps_last_good_rules(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(GOOD)
    seen: list[str | None] = []
    rf = RulesFile(path, on_change=lambda f: seen.append(f.error))
    first = rf.current()
    assert first is not None and rf.version == 1 and rf.error is None
    path.write_text(GOOD.replace("for: 2s", "for: 2 fortnights"))
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    assert rf.current() is first  # the last good rules stay
    assert rf.error is not None and "line 10" in rf.error and "rules[0].for" in rf.error
    path.write_text(GOOD.replace("for: 2s", "for: 3s"))
    assert rf.current() is first  # a fresh change is read once it has settled: on the next check
    kept = rf.current()
    assert kept is not None and kept.rules[0].for_s == 3 and rf.error is None and rf.version == 2
    assert seen[0] is None and seen[1] is not None and seen[2] is None


def test_half_written_file_is_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(GOOD)
    rf = RulesFile(path)
    first = rf.current()
    path.write_text("")  # an editor caught mid-write
    assert rf.current() is first  # not settled yet
    assert rf.current() is first and rf.error is not None and "no 'rules' list" in rf.error
    with pytest.raises(RulesError, match="no 'rules' list"):
        parse_rules("channels: {}\n")
    assert parse_rules("rules: []\n").rules == ()


def test_missing_file_reports_once(tmp_path: Path) -> None:
    rf = RulesFile(tmp_path / "nope.yaml")
    assert rf.current() is None
    assert rf.error is not None and "cannot read" in rf.error
