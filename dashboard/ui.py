"""Streamlit helpers shared by the pages: the process's Source, the clock, language, exports.

The :class:`~dashboard.data.Source` (Redis client, reader, tick caches) is one per process and
per ``CALLPULSE_*`` environment, from ``st.cache_resource``. ``now_ms()`` is the wall clock unless
a test fixed it in ``st.session_state["cp_now_ms"]`` (AppTests are deterministic).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard.data import RangeReport, Source, TickCache, wall_clock_ms
from dashboard.i18n import LANGS, pick_lang, t
from stream.config import load_settings
from stream.errors import ConfigError

NOW_KEY = "cp_now_ms"
#: Rendered wall-board HTML per (tenant, group, lang, theme) and tick: shared by all sessions.
HTML_CACHE = TickCache()

MANAGER_CSS = """
<style>
[data-testid="stAppDeployButton"], [data-testid="stMainMenu"] { display: none !important; }
[data-stale="true"] { opacity: 1 !important; transition: none !important; }
</style>
"""


@st.cache_resource(show_spinner=False)
def _source(env: tuple[tuple[str, str], ...]) -> Source:
    return Source(load_settings())


def source() -> Source:
    """The shared Source for the current ``CALLPULSE_*`` environment (tests change it)."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("CALLPULSE_")))
    return _source(env)


def now_ms() -> int:
    fixed = st.session_state.get(NOW_KEY)
    return int(fixed) if fixed is not None else wall_clock_ms()


def config_error(e: ConfigError) -> None:
    st.error(f"Configuration error / 配置错误: {e}")


def sidebar(src: Source, now: int) -> tuple[str | None, str]:
    """Tenant and language pickers (URL ``tenant`` and ``lang`` preselect them)."""
    qp = st.query_params
    tenants = src.tenants(now)
    want = qp.get("tenant")
    if want and want not in tenants:
        tenants = [want, *tenants]
    default_lang = pick_lang(qp.get("lang"), src.tenant_cfg(want or (tenants[0] if tenants else "")).lang)
    lang = st.sidebar.radio(
        t("language", default_lang),
        LANGS,
        index=LANGS.index(default_lang),
        horizontal=True,
        format_func=lambda x: {"zh": "中文", "en": "English"}[x],
        key="cp_lang",
    )
    if not tenants:
        return None, lang
    tenant = st.sidebar.selectbox(
        t("tenant", lang), tenants, index=tenants.index(want) if want in tenants else 0, key="cp_tenant"
    )
    return tenant, lang


def queue_picker(src: Source, tenant: str, lang: str, now: int, key: str) -> list[str]:
    """A group preset and a queue multiselect (default: every queue of the tenant)."""
    cfg = src.tenant_cfg(tenant)
    all_q = src.queues(tenant, now)
    groups = ["", *cfg.groups]
    group = st.selectbox(
        t("group", lang),
        groups,
        key=f"{key}_group",
        format_func=lambda g: g or t("all_queues", lang),
    )
    default = list(cfg.groups[group]) if group else all_q
    return st.multiselect(
        t("queues", lang),
        all_q,
        default=[q for q in default if q in all_q],
        key=f"{key}_queues_{group}",
        format_func=lambda q: src.label(tenant, q),
    )


def export_buttons(df: pd.DataFrame, name: str, lang: str, key: str) -> None:
    """CSV (UTF-8 with BOM, so Excel opens Chinese text correctly) and a real .xlsx."""
    c1, c2 = st.columns(2)
    csv = df.to_csv(index=False).encode("utf-8-sig")
    c1.download_button(t("download_csv", lang), csv, f"{name}.csv", "text/csv", key=f"{key}_csv")
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as xw:
        df.to_excel(xw, index=False, sheet_name=name[:31])
    c2.download_button(
        t("download_xlsx", lang),
        buf.getvalue(),
        f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx",
    )


def pct_col(values: Sequence[float | None]) -> list[float | None]:
    """Fractions 0–1 as percentages (numbers, so the column sorts and exports as numbers)."""
    return [None if v is None else round(v * 100, 1) for v in values]


def range_inputs(src: Source, tenant: str, lang: str, now: int, key: str) -> tuple[int, int, str]:
    """Date range, time-of-day range and granularity -> ``(start_ms, end_ms, granularity)``."""
    from datetime import datetime, time, timedelta

    cfg = src.tenant_cfg(tenant)
    today = src.today(tenant, now)
    c1, c2, c3 = st.columns([2, 3, 2])
    picked = c1.date_input(t("date", lang), value=(today, today), key=f"{key}_date")
    days = list(picked) if isinstance(picked, tuple | list) else [picked]
    first, last = (days[0], days[-1]) if days else (today, today)
    tr = c2.slider(
        t("time_range", lang),
        value=(time(0, 0), time(23, 59)),
        step=timedelta(minutes=cfg.interval_minutes),
        format="HH:mm",
        key=f"{key}_time",
    )
    iv = cfg.interval_minutes
    grans = ["interval", "hour", "day"] if iv < 60 else ["hour", "day"]
    gran = c3.radio(
        t("granularity", lang),
        grans,
        horizontal=True,
        key=f"{key}_gran",
        format_func=lambda g: t("gran_interval", lang, n=iv) if g == "interval" else t(f"gran_{g}", lang),
    )
    start = datetime.combine(first, tr[0], tzinfo=cfg.tz)
    end_t = tr[1]
    end = datetime.combine(last, end_t, tzinfo=cfg.tz) + timedelta(minutes=1 if end_t.minute % iv else 0)
    if end_t == time(23, 59):
        end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=cfg.tz)
    if cfg.day_start_hour:
        s, e = src.day_span(tenant, first, (last - first).days + 1)
        return max(s, int(start.timestamp() * 1000)), e, gran
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000), gran


@dataclass(frozen=True)
class Page:
    """What every manager page starts from."""

    src: Source
    now: int
    tenant: str
    lang: str

    def range_report(self, key: str) -> RangeReport:
        """A report page's queue picker and date range (widget keys prefixed ``key``), read."""
        queues = queue_picker(self.src, self.tenant, self.lang, self.now, key)
        start, end, gran = range_inputs(self.src, self.tenant, self.lang, self.now, key)
        return self.src.range_report(self.tenant, queues, start, end, gran)


def page(title_key: str) -> Page | None:
    """The manager pages' common start: data source, styles, sidebar pickers and title.

    Returns ``None`` (after saying why on the page) when there is nothing to show: a
    configuration error, or no tenant yet.
    """
    try:
        src = source()
    except ConfigError as e:
        config_error(e)
        return None
    st.html(MANAGER_CSS)
    now = now_ms()
    tenant, lang = sidebar(src, now)
    st.title(t(title_key, lang))
    if tenant is None:
        st.info(t("no_tenant", lang))
        return None
    return Page(src, now, tenant, lang)
