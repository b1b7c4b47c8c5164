"""Alert texts in English and Chinese: what, where, the value against the threshold, since when,
and a link to the wall board for that queue.

Metric names come from :data:`stream.kpis.DEFINITIONS` (the same words as the dashboard and
docs/kpis.md; zh terms from the glossary). A rule's ``message.en``/``message.zh`` replaces the
headline only: the where / since / link lines are always added, so no template can lose them.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urlencode

from stream.kpis import DEFINITIONS

Lang = str  # "en" | "zh"

_LABELS: dict[str, tuple[str, str]] = {key: (en, zh) for key, en, zh, _ in DEFINITIONS}
_LABELS.update(
    {
        "service_level": ("Service level", "服务水平"),
        "agents_available": ("Agents available", "空闲坐席数"),
        "agents_on_call": ("Agents on call", "通话中坐席数"),
        "agents_wrap_up": ("Agents in wrap-up", "话后整理坐席数"),
        "agents_aux": ("Agents in aux", "示忙坐席数"),
        "agents_logged_in": ("Agents logged in", "签入坐席数"),
        "heartbeat_age_s": ("Stream heartbeat age", "数据流心跳间隔"),
        "data_age_s": ("Data age", "数据延迟"),
    }
)
_WINDOWS: dict[str, tuple[str, str]] = {
    "interval": ("current interval", "当前时段"),
    "rolling_5": ("last 5 min", "近5分钟"),
    "rolling_15": ("last 15 min", "近15分钟"),
    "rolling_60": ("last 60 min", "近60分钟"),
    "today": ("today", "今日"),
    "live": ("now", "当前"),
}
_SEVERITY = {"info": ("info", "提示"), "warning": ("warning", "警告"), "critical": ("critical", "严重")}
_KIND = {
    "firing": ("FIRING", "【告警】"),
    "repeat": ("STILL FIRING", "【持续告警】"),
    "resolved": ("RESOLVED", "【恢复】"),
}

#: Placeholders a rule's message template may use.
PLACEHOLDERS = frozenset(
    {
        "rule",
        "tenant",
        "queue",
        "metric",
        "metric_label",
        "window",
        "value",
        "threshold",
        "op",
        "severity",
        "since",
        "duration",
        "link",
    }
)


def metric_label(metric: str, lang: Lang) -> str:
    i = 1 if lang == "zh" else 0
    if metric.startswith("service_level_") and metric[14:].isdigit():
        t = metric[14:]
        return f"{t}秒接通率" if lang == "zh" else f"Service level ({t} s)"
    return _LABELS.get(metric, (metric, metric))[i]


def format_value(metric: str, value: float | None) -> str:
    """Rates as percentages, seconds as seconds or m:ss, counts as integers; ``—`` for no data."""
    if value is None:
        return "—"
    if metric.endswith("_rate") or metric.startswith("service_level"):
        return f"{value * 100:.1f}%"
    if metric.endswith("_s"):
        if value >= 120:
            m, s = divmod(int(round(value)), 60)
            return f"{m}:{s:02d}"
        return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"
    return f"{value:g}"


def format_duration(seconds: float, lang: Lang) -> str:
    s = int(max(0, seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if lang == "zh":
        return (f"{h}小时" if h else "") + (f"{m}分" if m or h else "") + f"{sec}秒"
    return (f"{h}h " if h else "") + (f"{m}m " if m or h else "") + f"{sec}s"


def dashboard_link(base: str, tenant: str, queue: str) -> str:
    """The dashboard's alerts page for a tenant and queue (``*`` = the whole tenant).

    Streamlit serves each manager page at its own path (``dashboard/app.py``: ``/alerts``).
    """
    params = {"tenant": tenant}
    if queue not in ("*", "@total"):
        params["queue"] = queue
    return f"{base.rstrip('/')}/alerts?{urlencode(params)}"


class _Strict(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def check_template(text: str) -> str | None:
    """None when the template is fine, else a sentence naming the bad placeholder."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as e:
        return f"bad template ({e}); write {{{{ and }}}} for literal braces"
    for f in fields:
        name = f.split(".")[0].split("[")[0]
        if name not in PLACEHOLDERS:
            return (
                f"unknown placeholder {{{f}}}; use {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}"
            )
    return None


@dataclass(frozen=True)
class AlertFacts:
    """Everything a message says about one alert at one moment."""

    kind: str  # firing | repeat | resolved
    rule: str
    severity: str
    tenant: str
    queue: str
    metric: str
    window: str
    value: float | None
    threshold: float
    op: str
    since_ms: int
    now_ms: int
    link: str


def render(facts: AlertFacts, lang: Lang, tz: tzinfo, template: str | None = None) -> tuple[str, str]:
    """(title, body) in ``lang`` ("en" or "zh")."""
    zh = lang == "zh"
    i = 1 if zh else 0
    label = metric_label(facts.metric, lang)
    window = _WINDOWS.get(facts.window, (facts.window, facts.window))[i]
    sev = _SEVERITY.get(facts.severity, (facts.severity, facts.severity))[i]
    value = format_value(facts.metric, facts.value)
    thr = format_value(facts.metric, facts.threshold)
    since = datetime.fromtimestamp(facts.since_ms / 1000, tz).strftime("%Y-%m-%d %H:%M:%S %z")
    duration = format_duration((facts.now_ms - facts.since_ms) / 1000, lang)
    where = facts.tenant if facts.queue in ("*", "") else f"{facts.tenant} / {facts.queue}"
    fields: Mapping[str, Any] = {
        "rule": facts.rule,
        "tenant": facts.tenant,
        "queue": facts.queue,
        "metric": facts.metric,
        "metric_label": label,
        "window": window,
        "value": value,
        "threshold": thr,
        "op": facts.op,
        "severity": sev,
        "since": since,
        "duration": duration,
        "link": facts.link,
    }
    kind = _KIND[facts.kind][i]
    if template:
        headline = template.format_map(_Strict(fields))
    elif facts.kind == "resolved":
        headline = (
            f"{label}（{window}）已恢复：当前 {value}（阈值 {facts.op} {thr}）"
            if zh
            else f"{label} ({window}) is back to {value} (threshold {facts.op} {thr})"
        )
    else:
        headline = (
            f"{label}（{window}）当前 {value}，阈值 {facts.op} {thr}（{sev}）"
            if zh
            else f"{label} ({window}) is {value}, threshold {facts.op} {thr} ({sev})"
        )
    if zh:
        title = f"{kind}{facts.rule} · {where}"
        place = f"位置：租户 {facts.tenant}" + ("" if facts.queue in ("*", "") else f"，队列 {facts.queue}")
        when = (
            f"开始时间：{since}，持续 {duration}"
            if facts.kind != "resolved"
            else f"告警开始：{since}，共持续 {duration}"
        )
        link = f"告警详情：{facts.link}"
    else:
        title = f"{kind} [{sev}] {facts.rule} · {where}"
        place = f"Where: tenant {facts.tenant}" + (
            "" if facts.queue in ("*", "") else f", queue {facts.queue}"
        )
        when = (
            f"Since: {since} ({duration})"
            if facts.kind != "resolved"
            else f"Was firing since: {since} ({duration})"
        )
        link = f"Details: {facts.link}"
    return title, "\n".join([headline, place, when, link])


def test_message(channel: str, lang: Lang) -> tuple[str, str]:
    if lang == "zh":
        return "CallPulse 测试消息", f"这是发往通道 {channel} 的测试消息：告警通道配置正确。"
    return "CallPulse test message", f"This is a test message to channel {channel}: alert delivery works."


test_message.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
