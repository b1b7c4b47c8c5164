"""Alerts: firing now, history of state changes, notification delivery failures.

Reads what ``stream/alerts`` writes (docs/dashboard.md has the contract); shows nothing when
alerting has written nothing yet.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import fmt, ui
from dashboard.i18n import t


def render() -> None:
    page = ui.page("al_title")
    if page is None:
        return
    src, tenant, lang = page.src, page.tenant, page.lang
    view = src.alerts_view(tenant)
    tz = src.tenant_cfg(tenant).tz
    queue = st.query_params.get("queue")  # alert messages link to /alerts?tenant=…&queue=…
    if queue:
        st.caption(t("al_only_queue", lang, queue=src.label(tenant, queue)))
        view.firing = [a for a in view.firing if a.queue == queue]
        view.history = [h for h in view.history if h.get("queue") == queue]
    st.subheader(t("al_firing", lang))
    if view.firing:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("al_severity", lang): ("✖ " if a.severity.startswith("crit") else "▲ ")
                        + a.severity,
                        t("al_rule", lang): a.rule,
                        t("al_queue", lang): a.queue or fmt.DASH,
                        t("al_message", lang): a.message(lang),
                        t("al_since", lang): fmt.when(a.since_ms, tz, lang) if a.since_ms else fmt.DASH,
                    }
                    for a in view.firing
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.success(t("al_none", lang))
    st.subheader(t("al_history", lang))
    if view.history:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("al_time", lang): fmt.when(int(h["ts_ms"]), tz, lang)
                        if isinstance(h.get("ts_ms"), int)
                        else "",
                        t("al_state", lang): h.get("state", ""),
                        t("al_rule", lang): h.get("rule", ""),
                        t("al_queue", lang): h.get("queue") or fmt.DASH,
                        t("al_severity", lang): h.get("severity", ""),
                        t("al_value", lang): h.get("value"),
                        t("al_threshold", lang): h.get("threshold"),
                    }
                    for h in view.history
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(t("al_no_history", lang))
    st.subheader(t("al_failures", lang))
    if view.failures:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("al_time", lang): fmt.when(int(f["ts_ms"]), tz, lang)
                        if isinstance(f.get("ts_ms"), int)
                        else "",
                        t("al_channel", lang): f.get("channel", ""),
                        t("al_rule", lang): f.get("rule", ""),
                        t("al_attempt", lang): f.get("attempt"),
                        t("al_error", lang): f.get("error", ""),
                    }
                    for f in view.failures
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(t("al_no_failures", lang))


if __name__ == "__main__":  # run as a page by st.navigation (dashboard/app.py)
    render()
