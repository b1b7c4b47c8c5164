"""Agents: counts by state over time and the agent list; long aux / wrap-up highlighted."""

from __future__ import annotations

from datetime import tzinfo

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import fmt, ui
from dashboard.data import AgentsView, Source
from dashboard.i18n import t

STATES = ("available", "on_call", "wrap_up", "aux", "logged_out")


def render() -> None:
    page = ui.page("ag_title")
    if page is None:
        return
    src, now, tenant, lang = page.src, page.now, page.tenant, page.lang
    view = src.agents_view(tenant, now)
    tz = src.tenant_cfg(tenant).tz
    cols = st.columns(len(STATES))
    for c, s in zip(cols, STATES, strict=True):
        c.metric(t(f"state_{s}", lang), view.counts.get(s, 0))
    st.subheader(t("ag_counts", lang))
    if len(view.samples) < 2:  # one point draws an empty chart
        st.info(t("ag_no_history", lang))
    else:
        _history_chart(view.samples, tz, lang)
        st.caption(t("ag_counts_note", lang))
    _agent_list(src, view, tz, lang, now)


def _history_chart(samples: list[tuple[int, dict[str, int]]], tz: tzinfo, lang: str) -> None:
    fig = go.Figure(
        layout={
            "height": 300,
            "margin": {"l": 40, "r": 10, "t": 20, "b": 30},
            "legend": {"orientation": "h", "y": -0.2},
        }
    )
    xs = [fmt.local_dt(ms, tz) for ms, _ in samples]
    for s in STATES[:4]:
        fig.add_scatter(
            x=xs,
            y=[c.get(s, 0) for _, c in samples],
            name=t(f"state_{s}", lang),
            mode="lines",
            stackgroup="one",
        )
    st.plotly_chart(fig, width="stretch")


def _agent_list(src: Source, view: AgentsView, tz: tzinfo, lang: str, now: int) -> None:
    st.subheader(t("ag_list", lang))
    dash = src.dash
    st.caption(t("ag_limits", lang, aux=fmt.mmss(dash.aux_limit_s), wrap=fmt.mmss(dash.wrapup_limit_s)))
    if not view.agents:
        st.info(t("ag_none", lang))
        return
    flag = t("ag_flag", lang)
    df = pd.DataFrame(
        [
            {
                flag: "⚠" if a.agent_id in view.over_limit else "",
                t("ag_agent", lang): a.agent_id,
                t("ag_state", lang): t(f"state_{a.state}", lang),
                t("ag_reason", lang): a.reason or "",
                t("ag_since", lang): fmt.when(a.since_ms, tz, lang),
                t("ag_time", lang): fmt.mmss(a.time_in_state_s(now)),
                t("ag_queues", lang): ", ".join(a.queues or ()),
            }
            for a in sorted(view.agents, key=lambda a: (a.agent_id not in view.over_limit, a.agent_id))
        ]
    )

    def highlight(row: pd.Series) -> list[str]:
        style = "background-color: #ffe3b3; color: #7a3d00; font-weight: 700" if row[flag] else ""
        return [style] * len(row)

    st.dataframe(df.style.apply(highlight, axis=1), hide_index=True, width="stretch")


if __name__ == "__main__":  # run as a page by st.navigation (dashboard/app.py)
    render()
