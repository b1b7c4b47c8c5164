"""KPI definitions, rendered from ``stream.kpis.DEFINITIONS`` (the source of docs/kpis.md)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import ui
from dashboard.i18n import LANGS, pick_lang, t
from stream.kpis import DEFINITIONS


def render() -> None:
    st.html(ui.MANAGER_CSS)
    try:
        src = ui.source()
        _, lang = ui.sidebar(src, ui.now_ms())
    except Exception:  # the definitions need no data: show them even without Redis or config
        lang = st.sidebar.radio(
            t("language", "zh"),
            LANGS,
            horizontal=True,
            key="cp_lang",
            index=LANGS.index(pick_lang(st.query_params.get("lang"), "zh")),
        )
    st.title(t("def_title", lang))
    st.caption(t("def_caption", lang))
    df = pd.DataFrame(
        [
            {
                t("def_name", lang): zh if lang == "zh" else en,
                t("def_key", lang): key,
                t("def_formula", lang): formula,
            }
            for key, en, zh, formula in DEFINITIONS
        ]
    )
    st.table(df.set_index(t("def_name", lang)))


if __name__ == "__main__":  # run as a page by st.navigation (dashboard/app.py)
    render()
