"""Overview: volume, service level and answer rate with target lines, AHT and ASA over intervals,
today against the same weekday last week, the interval table and its exports."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import fmt, ui
from dashboard.data import RangeReport, Source
from dashboard.i18n import t
from stream.query import KpiRow

WEEK_MS = 7 * 86_400_000


def interval_frame(src: Source, rep: RangeReport, lang: str) -> pd.DataFrame:
    """The interval table (per queue and interval) with people's headers; numbers stay numbers."""
    tz = src.tenant_cfg(rep.tenant).tz
    rows = [
        {
            t("ov_time", lang): fmt.local_dt(r["start_ms"], tz).strftime("%Y-%m-%d %H:%M"),
            t("ov_queue", lang): src.label(rep.tenant, r["queue"]),
            **kpi_columns(r, lang),
        }
        for r in rep.per_queue
    ]
    return pd.DataFrame(rows)


def kpi_columns(r: KpiRow, lang: str) -> dict[str, object]:
    return {
        t("offered", lang): r["offered"],
        t("answered", lang): r["answered"],
        t("abandoned", lang): r["abandoned"],
        t("overflowed", lang): r["overflowed"],
        t("service_level", lang) + " %": ui.pct_col([r["service_level"]])[0],
        t("answer_rate", lang) + " %": ui.pct_col([r["answer_rate"]])[0],
        t("abandon_rate", lang) + " %": ui.pct_col([r["abandon_rate"]])[0],
        t("asa_s", lang): fmt.mmss(r["asa_s"]),
        t("aht_s", lang): fmt.mmss(r["aht_s"]),
        t("max_wait_s", lang): fmt.mmss(r["max_wait_s"]),
    }


def _x(src: Source, tenant: str, rows: list[KpiRow], shift: int = 0) -> list[object]:
    tz = src.tenant_cfg(tenant).tz
    return [fmt.local_dt(r["start_ms"] + shift, tz) for r in rows]


def charts(src: Source, rep: RangeReport, lang: str) -> list[go.Figure]:
    tenant, rows, old = rep.tenant, rep.totals, rep.last_week
    busy = [i for i, r in enumerate(rows) if r["offered"] or r["closed"]]
    if busy:  # keep the axis on the hours with traffic (a whole empty day squeezes the bars)
        rows = rows[busy[0] : busy[-1] + 1]
        lo, hi = rows[0]["start_ms"], rows[-1]["start_ms"]
        old = [r for r in old if lo <= r["start_ms"] + WEEK_MS <= hi]
    x, xo = _x(src, tenant, rows), _x(src, tenant, old, WEEK_MS)
    lw = t("ov_last_week", lang)
    layout = {
        "height": 330,
        "margin": {"l": 40, "r": 10, "t": 50, "b": 30},
        "legend": {"orientation": "h", "y": -0.15},
    }

    vol = go.Figure(layout={**layout, "title": t("ov_volume", lang), "barmode": "group"})
    for key, colour in (("offered", "#7f8c9d"), ("answered", "#2e9d5b"), ("abandoned", "#d64545")):
        vol.add_bar(x=x, y=[r[key] for r in rows], name=t(key, lang), marker_color=colour)
    if old:
        vol.add_scatter(
            x=xo,
            y=[r["offered"] for r in old],
            name=f"{t('offered', lang)} ({lw})",
            mode="lines",
            line={"dash": "dot", "color": "#555"},
        )

    cfg = src.tenant_cfg(tenant)
    sl = go.Figure(
        layout={**layout, "title": t("ov_sl_ar", lang), "yaxis": {"tickformat": ".0%", "range": [0, 1.05]}}
    )
    sl.add_scatter(
        x=x, y=[r["service_level"] for r in rows], name=t("service_level", lang), mode="lines+markers"
    )
    sl.add_scatter(x=x, y=[r["answer_rate"] for r in rows], name=t("answer_rate", lang), mode="lines+markers")
    if old:
        sl.add_scatter(
            x=xo,
            y=[r["service_level"] for r in old],
            name=f"{t('service_level', lang)} ({lw})",
            mode="lines",
            line={"dash": "dot"},
        )
    for metric, label in (("service_level", "ov_sl_target"), ("answer_rate", "ov_ar_target")):
        th = cfg.threshold(metric)
        if th is not None:
            sl.add_hline(
                y=th.warn,
                line_dash="dash",
                line_color="#e0a000",
                annotation_text=f"{t(label, lang)} {fmt.pct(th.warn)}",
            )

    times = go.Figure(layout={**layout, "title": t("ov_aht_asa", lang)})
    times.add_scatter(x=x, y=[r["aht_s"] for r in rows], name=t("aht_s", lang), mode="lines+markers")
    times.add_scatter(x=x, y=[r["asa_s"] for r in rows], name=t("asa_s", lang), mode="lines+markers")
    return [vol, sl, times]


def render() -> None:
    page = ui.page("ov_title")
    if page is None:
        return
    src, tenant, lang = page.src, page.tenant, page.lang
    rep = page.range_report("ov")
    g = rep.grand_total
    cols = st.columns(6)
    for c, (key, val) in zip(
        cols,
        [
            ("offered", fmt.count(g["offered"])),
            ("answered", fmt.count(g["answered"])),
            ("service_level", fmt.pct(g["service_level"])),
            ("answer_rate", fmt.pct(g["answer_rate"])),
            ("aht_s", fmt.mmss(g["aht_s"])),
            ("asa_s", fmt.mmss(g["asa_s"])),
        ],
        strict=True,
    ):
        c.metric(t(key, lang), val)
    if not rep.per_queue:
        st.info(t("no_data", lang))
        return
    for fig in charts(src, rep, lang):
        st.plotly_chart(fig, width="stretch")
    st.subheader(t("ov_intervals", lang))
    df = interval_frame(src, rep, lang)
    st.dataframe(df, hide_index=True, width="stretch")
    ui.export_buttons(df, f"intervals-{tenant}", lang, "ov")


if __name__ == "__main__":  # run as a page by st.navigation (dashboard/app.py)
    render()
