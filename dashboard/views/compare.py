"""Queue comparison: one row per queue over the selected range, sortable; exports."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import ui
from dashboard.i18n import t
from dashboard.views.overview import interval_frame, kpi_columns


def render() -> None:
    page = ui.page("cmp_title")
    if page is None:
        return
    src, tenant, lang = page.src, page.tenant, page.lang
    rep = page.range_report("cmp")
    if not rep.per_queue:
        st.info(t("no_data", lang))
        return
    table = pd.DataFrame(
        [
            {t("ov_queue", lang): src.label(tenant, r["queue"]), **kpi_columns(r, lang)}
            for r in rep.queue_totals
        ]
        + [{t("ov_queue", lang): t("ov_totals", lang), **kpi_columns(rep.grand_total, lang)}]
    )
    st.caption(t("cmp_hint", lang))
    pct = {c: st.column_config.NumberColumn(c, format="%.1f%%") for c in table.columns if c.endswith(" %")}
    st.dataframe(table, hide_index=True, width="stretch", column_config=pct)
    ui.export_buttons(table, f"queues-{tenant}", lang, "cmp_q")
    st.subheader(t("ov_intervals", lang))
    df = interval_frame(src, rep, lang)
    st.dataframe(df, hide_index=True, width="stretch", column_config=pct)
    ui.export_buttons(df, f"intervals-{tenant}", lang, "cmp_iv")


if __name__ == "__main__":  # run as a page by st.navigation (dashboard/app.py)
    render()
