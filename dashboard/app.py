"""CallPulse dashboard entry point: ``streamlit run dashboard/app.py``.

Two audiences, one app. ``?view=wall&tenant=…&group=…&lang=zh|en&theme=dark`` shows only the
wall board (no navigation, no Streamlit chrome); anything else shows the manager's pages.
Navigation is wrapped in :func:`run` (as Streamlit's own ``hello`` app does) so end-to-end tests
drive the same code.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repository root.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from dashboard.i18n import t  # noqa: E402
from dashboard.views import agents, alerts, callbacks, compare, definitions, ops, overview, wallboard  # noqa: E402


def run() -> None:
    wall = st.query_params.get("view") == "wall"
    lang = st.session_state.get("cp_lang") or st.query_params.get("lang") or "zh"
    st.set_page_config(
        page_title="CallPulse",
        page_icon="📞",
        layout="wide",
        initial_sidebar_state="collapsed" if wall else "auto",
    )
    if wall:
        nav = st.navigation(
            [st.Page(wallboard.render, title=t("nav_wall", lang), default=True)], position="hidden"
        )
    else:
        nav = st.navigation(
            [
                st.Page(overview.render, title=t("nav_overview", lang), url_path="overview", default=True),
                st.Page(compare.render, title=t("nav_compare", lang), url_path="compare"),
                st.Page(agents.render, title=t("nav_agents", lang), url_path="agents"),
                st.Page(callbacks.render, title=t("nav_callbacks", lang), url_path="callbacks"),
                st.Page(alerts.render, title=t("nav_alerts", lang), url_path="alerts"),
                st.Page(ops.render, title=t("nav_ops", lang), url_path="ops"),
                st.Page(definitions.render, title=t("nav_definitions", lang), url_path="definitions"),
            ]
        )
    nav.run()


run()
