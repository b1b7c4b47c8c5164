"""Operations: worker heartbeats and dead-letter counts (rejected events) for operators."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import fmt, ui
from dashboard.i18n import t
from stream.errors import ConfigError


def render() -> None:
    try:
        src = ui.source()
    except ConfigError as e:
        ui.config_error(e)
        return
    st.html(ui.MANAGER_CSS)
    now = ui.now_ms()
    _, lang = ui.sidebar(src, now)
    st.title(t("ops_title", lang))
    view = src.ops_view(now)
    st.subheader(t("ops_workers", lang))
    if view.workers:
        stale = src.dash.stale_after_s
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("ops_worker", lang): w,
                        t("ops_age", lang): ("✔ " if age <= stale else "✖ ") + fmt.age(age, lang),
                    }
                    for w, age in sorted(view.workers.items())
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.warning(t("wall_no_worker", lang))
    st.subheader(t("ops_dlq", lang))
    if not view.dlq_counts:
        st.success(t("ops_dlq_none", lang))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {t("ops_reason", lang): r, t("ops_count", lang): n}
                for r, n in sorted(view.dlq_counts.items(), key=lambda kv: -kv[1])
            ]
        ),
        hide_index=True,
    )
    st.subheader(t("ops_recent", lang))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("al_time", lang): fmt.when(int(d["rejected_at_ms"]), src.tenant_cfg("").tz, lang)
                    if isinstance(d.get("rejected_at_ms"), int)
                    else "",
                    t("ops_reason", lang): d.get("reason", ""),
                    t("ops_detail", lang): d.get("detail", ""),
                    "raw": str(d.get("raw", ""))[:200],
                }
                for d in view.dlq_recent
            ]
        ),
        hide_index=True,
        width="stretch",
    )


if __name__ == "__main__":  # run as a page by st.navigation (dashboard/app.py)
    render()
