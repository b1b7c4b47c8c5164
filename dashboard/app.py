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
from streamlit import config as _st_config  # noqa: E402

from dashboard.i18n import t  # noqa: E402

VIEWS = Path(__file__).resolve().parent / "views"

# Streamlit runs a full gc.collect() after every script run: with pandas and Plotly loaded that
# was 85 ms of CPU per wall-board tick per session (measured, docs/dashboard.md) — more than the
# board itself. Python's own generational GC still runs; only the forced full pass is skipped.
# (Same as `--runner.postScriptGC false` / STREAMLIT_RUNNER_POST_SCRIPT_GC=false.)
_st_config.set_option("runner.postScriptGC", False)


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
            [st.Page(str(VIEWS / "wallboard.py"), title=t("nav_wall", lang), url_path="wall", default=True)],
            position="hidden",
        )
    else:
        nav = st.navigation(
            [
                st.Page(
                    str(VIEWS / "overview.py"),
                    title=t("nav_overview", lang),
                    url_path="overview",
                    default=True,
                ),
                st.Page(str(VIEWS / "compare.py"), title=t("nav_compare", lang), url_path="compare"),
                st.Page(str(VIEWS / "agents.py"), title=t("nav_agents", lang), url_path="agents"),
                st.Page(str(VIEWS / "callbacks.py"), title=t("nav_callbacks", lang), url_path="callbacks"),
                st.Page(str(VIEWS / "alerts.py"), title=t("nav_alerts", lang), url_path="alerts"),
                st.Page(str(VIEWS / "ops.py"), title=t("nav_ops", lang), url_path="ops"),
                st.Page(
                    str(VIEWS / "definitions.py"), title=t("nav_definitions", lang), url_path="definitions"
                ),
            ]
        )
    nav.run()


run()
