"""The wall board as one HTML block per tick: tiles, totals, status line, alert ticker.

Pure: :func:`render` takes the tick's :class:`~dashboard.data.WallData` and returns markup (the
stylesheet is :data:`CSS`, injected once per page). One HTML block with inline SVG sparklines is
far cheaper per session than Streamlit metrics and Plotly (PLATFORM-NOTES), and renders without
flicker. Layout: a fixed 100vh grid — status bar, totals strip, up to 12 tiles (4×3), ticker —
so 1920×1080 never scrolls. Colour is never the only signal: each coloured value carries an icon
(✔ ok, ▲ warning, ✖ critical) and each tile a worded badge.
"""

from __future__ import annotations

import math
from html import escape
from importlib import resources
from urllib.parse import quote

from dashboard import fmt
from dashboard.data import Alert, WallData
from dashboard.i18n import t
from stream.config import TenantConfig
from stream.query import QueueView

ICON = {"ok": "✔", "warn": "▲", "crit": "✖", "none": ""}
RANK = {"none": 0, "ok": 1, "warn": 2, "crit": 3}
TICKER_MAX = 4  # alerts shown at once; more rotate with the pages


def _level(cfg: TenantConfig, metric: str, queue: str | None, value: float | None) -> str:
    th = cfg.threshold(metric, queue)
    return th.level(value) if th is not None else ("none" if value is None else "ok")


def _worst(levels: list[str]) -> str:
    return max(levels, key=lambda lv: RANK[lv]) if levels else "none"


def _value(label: str, text: str, level: str, cls: str = "") -> str:
    # Problems carry an icon (▲ warning, ✖ critical) besides their colour; fine values stay quiet.
    icon = f'<span class="ic">{ICON[level]}</span>' if level in ("warn", "crit") else ""
    # A smaller "%" keeps "100.0%" inside a quarter of the screen at 64 px.
    body = escape(text)
    if body.endswith("%"):
        body = body[:-1] + '<span class="u">%</span>'
    return (
        f'<div class="kv {cls}"><div class="k">{icon}{escape(label)}</div>'
        f'<div class="v lv-{level}">{body}</div></div>'
    )


SPARK_COLOURS = {
    "sl": ("rgba(120,170,255,.8)", "rgba(120,170,255,.18)"),
    "vol": ("rgba(200,200,220,.6)", "rgba(200,200,220,.13)"),
}


def _spark(values: list[float | None], *, lo: float = 0.0, hi: float | None = None, cls: str = "") -> str:
    """A sparkline of the last 60 minutes (gaps where there is no data) as an ``<img>`` of SVG.

    An image with a data URI, because ``st.html`` sanitises inline ``<svg>`` away.
    """
    n = len(values)
    if n < 2:
        return ""
    top = hi if hi is not None else max([v for v in values if v is not None] or [1.0]) or 1.0
    pts: list[str] = []
    segs: list[list[str]] = []
    for i, v in enumerate(values):
        if v is None:
            if pts:
                segs.append(pts)
            pts = []
            continue
        y = 40 - 38 * (min(max(v, lo), top) - lo) / ((top - lo) or 1.0)
        pts.append(f"{i * 100 / (n - 1):.1f},{y:.1f}")
    if pts:
        segs.append(pts)
    stroke, fill = SPARK_COLOURS.get(cls, SPARK_COLOURS["vol"])
    paths = []
    for seg in segs:
        if len(seg) == 1:
            x, y = seg[0].split(",")
            paths.append(f"<circle cx='{x}' cy='{y}' r='1.2' fill='{fill}'/>")
            continue
        line = " ".join(seg)
        x0, x1 = seg[0].split(",")[0], seg[-1].split(",")[0]
        paths.append(
            f"<polygon points='{x0},40 {line} {x1},40' fill='{fill}'/>"
            f"<polyline points='{line}' fill='none' stroke='{stroke}' stroke-width='1.6'"
            " vector-effect='non-scaling-stroke'/>"
        )
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 40' preserveAspectRatio='none'>"
        + "".join(paths)
        + "</svg>"
    )
    return f'<img class="spark {cls}" alt="" src="data:image/svg+xml,{quote(svg)}">'


def _agents(agents: dict[str, int], lang: str) -> str:
    parts = [
        ("available", "agents_avail", "ag-av"),
        ("on_call", "agents_on_call", "ag-oc"),
        ("wrap_up", "agents_wrap", "ag-wr"),
        ("aux", "agents_aux", "ag-ax"),
    ]
    return "".join(
        f'<span class="chip {c}"><span class="cl">{escape(t(k, lang))}</span>'
        f'<span class="cn">{agents.get(s, 0)}</span></span>'
        for s, k, c in parts
    )


def _metrics(cfg: TenantConfig, qv: QueueView, queue: str | None) -> dict[str, tuple[float | None, str]]:
    iv, today = qv.interval, qv.today
    waiting = float(qv.waiting)
    return {
        "waiting": (waiting, _level(cfg, "waiting", queue, waiting)),
        "oldest": (qv.oldest_wait_s, _level(cfg, "oldest_wait_s", queue, qv.oldest_wait_s)),
        "sl_now": (iv["service_level"], _level(cfg, "service_level", queue, iv["service_level"])),
        "sl_today": (today["service_level"], _level(cfg, "service_level", queue, today["service_level"])),
        "ar": (today["answer_rate"], _level(cfg, "answer_rate", queue, today["answer_rate"])),
        "abn": (today["abandon_rate"], _level(cfg, "abandon_rate", queue, today["abandon_rate"])),
        "aht": (today["aht_s"], _level(cfg, "aht_s", queue, today["aht_s"])),
    }


def _tile(cfg: TenantConfig, qv: QueueView, label: str, lang: str) -> str:
    q = qv.queue
    m = _metrics(cfg, qv, q)
    worst = _worst([lv for _, lv in m.values()])
    pulse = " pulse" if m["oldest"][1] == "crit" else ""
    sl_series = [row["service_level"] for _, row in qv.minutes]
    vol_series: list[float | None] = [float(row["offered"]) for _, row in qv.minutes]
    sl_th = cfg.threshold("service_level", q)
    target = ""
    if sl_th is not None:  # the target line sits where the warning threshold is on the sparkline
        frac = max(0.0, min(1.0, sl_th.warn)) * 0.95
        target = f'<div class="tgt" style="bottom:calc((100% - 22px) * {frac:.3f})"></div>'
    return (
        f'<div class="tile lv-{worst}{pulse}" data-queue="{escape(q)}">'
        f'<div class="th"><span class="qn">{escape(label)}</span>'
        f'<span class="badge lv-{worst}">{ICON[worst]} {escape(t("lvl_" + worst, lang))}</span></div>'
        f'<div class="row big">{_spark(vol_series, cls="vol")}'
        f"{_value(t('waiting', lang), fmt.count(m['waiting'][0]), m['waiting'][1])}"
        f"{_value(t('oldest_wait_s', lang), fmt.mmss(m['oldest'][0]), m['oldest'][1])}</div>"
        f'<div class="row big">{_spark(sl_series, hi=1.0, cls="sl")}{target}'
        f"{_value(t('sl_now', lang), fmt.pct(m['sl_now'][0]), m['sl_now'][1])}"
        f"{_value(t('sl_today', lang), fmt.pct(m['sl_today'][0]), m['sl_today'][1])}</div>"
        f'<div class="row mid">'
        f"{_value(t('short_ar', lang), fmt.pct(m['ar'][0]), m['ar'][1])}"
        f"{_value(t('short_abn', lang), fmt.pct(m['abn'][0]), m['abn'][1])}"
        f"{_value(t('short_aht', lang), fmt.mmss(m['aht'][0]), m['aht'][1])}</div>"
        f'<div class="row agents">{_agents(qv.agents, lang)}</div>'
        "</div>"
    )


def _totals(cfg: TenantConfig, qv: QueueView, title: str, lang: str) -> str:
    m = _metrics(cfg, qv, None)
    cells = [
        _value(t("waiting", lang), fmt.count(m["waiting"][0]), m["waiting"][1]),
        _value(t("oldest_wait_s", lang), fmt.mmss(m["oldest"][0]), m["oldest"][1]),
        _value(t("sl_now", lang), fmt.pct(m["sl_now"][0]), m["sl_now"][1]),
        _value(t("sl_today", lang), fmt.pct(m["sl_today"][0]), m["sl_today"][1]),
        _value(t("answer_rate", lang), fmt.pct(m["ar"][0]), m["ar"][1]),
        _value(t("abandon_rate", lang), fmt.pct(m["abn"][0]), m["abn"][1]),
        _value(t("aht_s", lang), fmt.mmss(m["aht"][0]), m["aht"][1]),
    ]
    return (
        f'<section class="totals"><div class="tt"><div class="ttl">{escape(title)}</div>'
        f'<div class="tts">{escape(t("wall_totals", lang))}</div></div>{"".join(cells)}'
        f'<div class="agents tot">{_agents(qv.agents, lang)}</div></section>'
    )


def _ticker(alerts: list[Alert], data: WallData, cfg: TenantConfig, lang: str, page: int) -> str:
    if not alerts:
        extra = ""
        if data.deadletter_total:
            extra = f' · <span class="dlq">{escape(t("ops_dlq_line", lang, n=data.deadletter_total))}</span>'
        return f'<div class="ticker quiet">✔ {escape(t("wall_no_alerts", lang))}{extra}</div>'
    pages = max(1, math.ceil(len(alerts) / TICKER_MAX))
    shown = alerts[(page % pages) * TICKER_MAX :][:TICKER_MAX]
    items = []
    for a in shown:
        lv = "crit" if a.severity in ("critical", "crit") else "warn"
        since = f" · {fmt.hhmm(a.since_ms, cfg.tz)}" if a.since_ms else ""
        items.append(f'<span class="al lv-{lv}">{ICON[lv]} {escape(a.message(lang))}{escape(since)}</span>')
    more = f'<span class="more">{page % pages + 1}/{pages}</span>' if pages > 1 else ""
    return f'<div class="ticker" role="status">{"".join(items)}{more}</div>'


def _status(data: WallData, cfg: TenantConfig, title: str, lang: str, page: int, pages: int) -> str:
    clock = fmt.clock(data.now_ms, cfg.tz)
    snap = data.snapshot
    data_age = snap.data_age_s if snap is not None and data.problem != "redis_down" else None
    if data.problem == "redis_down":
        banner = t("wall_redis_down", lang)
    elif data.problem == "stale":
        banner = t("wall_stale", lang, age=fmt.age(data.heartbeat_age_s, lang))
    elif data.problem == "no_worker":
        banner = t("wall_no_worker", lang)
    else:
        banner = ""
    page_txt = (
        f' <span class="pg">{escape(t("wall_page", lang, i=page + 1, n=pages))}</span>' if pages > 1 else ""
    )
    if banner:
        return (
            f'<div class="bar banner" role="alert"><span class="bn">✖ {escape(banner)}</span>'
            f'<span class="clk">{clock}</span></div>'
        )
    hb = t("wall_hb_ok", lang, age=fmt.age(data.heartbeat_age_s, lang))
    return (
        f'<div class="bar"><span class="ttl">{escape(title)}{page_txt}</span>'
        f'<span class="clk">{clock}</span>'
        f'<span class="st">{escape(t("wall_data_age", lang))} {escape(fmt.age(data_age, lang))}'
        f' · {escape(t("wall_heartbeat", lang))} <span class="lv-ok">✔ {escape(hb)}</span></span></div>'
    )


def render(
    data: WallData,
    cfg: TenantConfig,
    labels: dict[str, str],
    lang: str,
    theme: str = "dark",
    *,
    tiles_per_page: int = 12,
    rotate_s: float = 10.0,
) -> str:
    """The whole wall board for one tick; ``labels`` maps queue -> display name."""
    title = " · ".join(x for x in (cfg.label, data.group or t("wall_all", lang)) if x)
    if data.problem == "unknown_group":
        msg = t("wall_unknown_group", lang, group=data.group or "", tenant=data.tenant)
        return f'<div class="cpw theme-{theme}"><div class="msg">✖ {escape(msg)}</div></div>'
    queues = data.queues
    pages = max(1, math.ceil(len(queues) / tiles_per_page))
    page = int(data.now_ms // (rotate_s * 1000)) % pages
    shown = queues[page * tiles_per_page :][:tiles_per_page]
    n = max(1, len(shown))
    cols = 1 if n == 1 else 2 if n <= 4 else 3 if n <= 9 else 4
    rows = math.ceil(n / cols)
    # Big values: as tall as the rows allow, but never wider than half a tile: "100.0%" is about
    # 3.3 em wide in the condensed bold face, and a tile is (1900 px / cols) minus its padding.
    by_rows = {1: 150, 2: 96}.get(rows, 64)
    by_width = int((1900 / cols - 44) / 2 / 3.3)
    big = max(64, min(by_rows, by_width))
    stale = " stale" if data.problem else ""
    snap = data.snapshot
    if snap is None:
        key = "wall_redis_down" if data.problem else "wall_no_queues"
        body = f'<div class="msg">{escape(t(key, lang))}</div>'
        totals = ""
    else:
        tiles = [_tile(cfg, snap.queues[q], labels.get(q, q), lang) for q in shown if q in snap.queues]
        body = f'<main class="grid" style="--cols:{cols};--rows:{rows}">{"".join(tiles)}</main>'
        if not tiles:
            body = f'<div class="msg">{escape(t("wall_no_queues", lang))}</div>'
        totals = _totals(cfg, snap.totals, data.group or t("wall_all", lang), lang)
    return (
        f'<div class="cpw theme-{theme}{stale}" style="--big:{big}px" data-problem="{data.problem or ""}">'
        f"{_status(data, cfg, title, lang, page, pages)}{totals}{body}"
        f"{_ticker(data.alerts, data, cfg, lang, int(data.now_ms // (rotate_s * 1000)))}</div>"
    )


#: The board's stylesheet (``wall.css``), injected once per page outside the refreshing fragment.
CSS = "<style>\n" + resources.files("dashboard").joinpath("wall.css").read_text(encoding="utf-8") + "</style>"
