"""Call-back list: today's abandoned calls per queue, those whose caller later got through
marked as such; exportable (supervisors ask for this list, not a percentage)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import fmt, ui
from dashboard.i18n import t


def render() -> None:
    page = ui.page("cb_title")
    if page is None:
        return
    src, now, tenant, lang = page.src, page.now, page.tenant, page.lang
    st.caption(t("cb_caption", lang))
    c1, c2 = st.columns([1, 3])
    day = c1.date_input(t("date", lang), value=src.today(tenant, now), key="cb_day")
    queues = c2.multiselect(
        t("queues", lang),
        src.queues(tenant, now),
        key="cb_queues",
        placeholder=t("all_queues", lang),
        format_func=lambda q: src.label(tenant, q),
    )
    pending_only = st.toggle(t("cb_pending_only", lang), key="cb_pending")
    rows = src.callbacks(tenant, day, queues or None)
    tz = src.tenant_cfg(tenant).tz
    todo = [r for r in rows if not r["got_through"]]
    st.markdown(f"**{t('cb_summary', lang, n=len(rows), m=len(todo))}**")
    if not rows:
        st.info(t("cb_none", lang))
        return
    shown = todo if pending_only else rows
    df = pd.DataFrame(
        [
            {
                t("cb_time", lang): fmt.local_dt(r["ts"], tz).strftime("%H:%M:%S"),
                t("cb_queue", lang): src.label(tenant, r["queue"]),
                t("cb_caller", lang): r.get("caller") or fmt.DASH,
                t("cb_wait", lang): fmt.mmss(r["wait_s"]),
                t("cb_got", lang): ("✔ " + t("yes", lang)) if r["got_through"] else "",
                t("cb_got_at", lang): fmt.clock(r["got_through_ms"], tz) if r["got_through_ms"] else "",
            }
            for r in shown
        ]
    )
    got = t("cb_got", lang)

    def grey(row: pd.Series) -> list[str]:
        return ["color: #2e7d32" if row[got] else ""] * len(row)

    st.dataframe(df.style.apply(grey, axis=1), hide_index=True, width="stretch")
    ui.export_buttons(df, f"callbacks-{tenant}-{day.isoformat()}", lang, "cb")


if __name__ == "__main__":  # run as a page by st.navigation (dashboard/app.py)
    render()
