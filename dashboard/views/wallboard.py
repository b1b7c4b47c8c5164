"""The wall board page: selected entirely by URL, refreshed by a fragment every ``refresh_s``.

``?view=wall&tenant=acme&group=north&lang=zh&theme=dark``. Each tick renders one HTML block
(shared by every session on the same URL through ``ui.HTML_CACHE``). Any error becomes a banner;
a Python traceback never reaches the TV.
"""

from __future__ import annotations

import logging

import streamlit as st

from dashboard import ui, wall
from dashboard.data import Source
from dashboard.i18n import pick_lang, t
from stream.errors import ConfigError

log = logging.getLogger("callpulse.dashboard")


def _error_block(key: str, lang: str) -> str:
    return f'<div class="cpw"><div class="msg" style="grid-row:1/5">✖ {t(key, lang)}</div></div>'


def board_html(src: Source, tenant: str, group: str | None, lang: str, theme: str, now: int) -> str:
    """The board for this tick, rendered once per (tenant, group, lang, theme) and tick."""

    def build() -> str:
        data = src.wall(tenant, group, now)
        labels = {q: src.label(tenant, q) for q in data.queues}
        return wall.render(
            data,
            src.tenant_cfg(tenant),
            labels,
            lang,
            theme,
            tiles_per_page=src.dash.tiles_per_page,
            rotate_s=src.dash.rotate_s,
        )

    return ui.HTML_CACHE.get((id(src), tenant, group, lang, theme), src.tick(now), build)


def render() -> None:
    qp = st.query_params
    url_lang = qp.get("lang")
    try:
        src = ui.source()
    except ConfigError as e:
        log.error("dashboard configuration: %s", e)
        st.html(wall.CSS + _error_block("error_generic", url_lang or "zh"))
        return
    tenant = qp.get("tenant")
    if not tenant:
        tenants = src.tenants(ui.now_ms())
        tenant = tenants[0] if tenants else "default"
    group = qp.get("group") or None
    lang = pick_lang(url_lang, src.tenant_cfg(tenant).lang)
    theme = "light" if qp.get("theme") == "light" else "dark"
    st.html(wall.CSS)

    @st.fragment(run_every=src.dash.refresh_s)
    def board() -> None:
        try:
            html = board_html(src, tenant, group, lang, theme, ui.now_ms())
        except Exception:  # never a traceback on the TV: log it, show a banner, retry next tick
            log.exception("wall board tick failed")
            html = _error_block("error_generic", lang)
        st.html(html)

    board()


if __name__ == "__main__":  # run as a page by st.navigation (dashboard/app.py)
    render()
