"""The wall board and manager pages in Debian's Chromium, against ``streamlit run`` and the real
pipeline (Tansu -> Faust worker -> Redis). Screenshots go to ``artifacts/screenshots/``.

The tests of this module share one pipeline, one Streamlit server and one browser; the stale
test stops the worker and starts a new one, so it runs last.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.dashboard import seed
from tests.dashboard.browser import SCREENSHOTS, launch_chromium, streamlit_server
from tests.pipeline import Pipeline

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FHD = {"width": 1920, "height": 1080}
SCROLL_JS = """() => [document.documentElement, document.body,
    ...document.querySelectorAll('[data-testid=stMain], [data-testid=stAppViewContainer]')]
    .map(el => [el.scrollWidth - el.clientWidth, el.scrollHeight - el.clientHeight,
                getComputedStyle(el).overflowY])"""
BOXES_JS = """() => [...document.querySelectorAll('.tile, .ticker, .totals')]
    .map(e => e.getBoundingClientRect()).map(r => [r.left, r.top, r.right, r.bottom])"""
FONT_JS = """() => [...document.querySelectorAll('.tile .row.big .v, .totals .v')]
    .map(e => parseFloat(getComputedStyle(e).fontSize))"""
#: Values whose text is wider than their box (cut off on the screen).
CLIPPED_JS = """() => [...document.querySelectorAll('.kv .v')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""
CHROME = [
    '[data-testid="stHeader"]',
    '[data-testid="stToolbar"]',
    '[data-testid="stAppDeployButton"]',
    '[data-testid="stMainMenu"]',
    "footer",
]


@pytest.fixture(scope="module")
def live(tansu, redis_proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pipeline, str, int]]:
    """A worker with the test center's config, fed the last hour of a 12-queue floor (real now)."""
    work = tmp_path_factory.mktemp("browser")
    p = Pipeline(tansu, redis_proc, config=seed.center_config(), workdir=work)
    p.start_worker()
    now = int(time.time() * 1000)
    p.feed(seed.floor_events(seed.TENANT, seed.QUEUES, now), batch=200)
    with streamlit_server(p.env, work) as url:
        yield p, url, now
    p.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


def wall(browser: Browser, url: str, lang: str, group: str = "floor") -> Page:
    page = browser.new_page(viewport=FHD)
    page.goto(f"{url}/?view=wall&tenant={seed.TENANT}&group={group}&lang={lang}&theme=dark")
    page.wait_for_selector(".cpw .tile", timeout=30_000)
    return page


def feed(p: Pipeline, events: list[dict]) -> None:
    """``Pipeline.feed`` uses asyncio.run; Playwright's sync API owns this thread's loop."""
    with ThreadPoolExecutor(1) as ex:
        ex.submit(p.feed, events, batch=200).result()


def tile_text(page: Page, queue: str) -> str:
    return page.inner_text(f'.tile[data-queue="{queue}"]')


def test_wall_board_shows_pipeline_values_and_updates_without_reload(live, browser: Browser) -> None:
    p, url, _ = live
    page = wall(browser, url, "en")
    assert page.locator(".tile").count() == 12
    text = tile_text(page, "q12")
    assert "Waiting" in text and "3" in text  # seed: q12 has 3 calls waiting
    page.wait_for_timeout(1200)  # let sparklines and the clock settle for the picture
    page.screenshot(path=str(SCREENSHOTS / "wall-en.png"))
    page.evaluate("window.__noReload = 1")
    t = int(time.time() * 1000)
    feed(
        p,
        [
            {
                "event_id": f"live-{i}-{t}",
                "type": "call_offered",
                "ts": t - 5000,
                "tenant": seed.TENANT,
                "call_id": f"live-{i}-{t}",
                "queue": "q01",
            }
            for i in range(5)
        ],
    )
    page.wait_for_function(
        """() => { const v = document.querySelector('.tile[data-queue="q01"] .row.big .v');
                   return v && v.textContent.trim() === '5'; }""",
        timeout=3000,
    )
    assert page.evaluate("window.__noReload") == 1  # same document: updated in place
    page.close()


def test_wall_board_fits_1920x1080_without_scrollbars_or_chrome(live, browser: Browser) -> None:
    _, url, _ = live
    page = wall(browser, url, "en")
    page.wait_for_timeout(1500)
    dims = page.evaluate(SCROLL_JS)
    for dx, dy, overflow in dims:
        assert (dx <= 0 and dy <= 0) or overflow == "hidden", dims
    assert page.evaluate("window.innerWidth === document.documentElement.clientWidth")  # no vertical bar
    assert page.evaluate("window.innerHeight === document.documentElement.clientHeight")  # no horizontal bar
    # every tile and the ticker are inside the viewport, nothing clipped at the bottom
    boxes = page.evaluate(BOXES_JS)
    assert len(boxes) == 14 and all(
        0 <= x0 and 0 <= y0 and x1 <= 1920 and y1 <= 1080 for x0, y0, x1, y1 in boxes
    )
    sizes = page.evaluate(FONT_JS)
    assert sizes and min(sizes) >= 64
    assert page.evaluate(CLIPPED_JS) == []  # no value is cut off
    for chrome in CHROME:
        assert not page.locator(chrome).is_visible()
    page.close()


@pytest.mark.parametrize("group", ["six", "pair"])
def test_smaller_groups_get_bigger_values_that_still_fit(live, browser: Browser, group: str) -> None:
    """Fewer tiles, bigger numbers: but "100.0%" must never be cut off at the tile's edge."""
    _, url, _ = live
    page = wall(browser, url, "zh", group=group)
    page.wait_for_timeout(1200)
    sizes = page.evaluate(FONT_JS)
    assert min(sizes) >= 64 and max(sizes) > 64
    assert page.evaluate(CLIPPED_JS) == []
    page.screenshot(path=str(SCREENSHOTS / f"wall-{group}-zh.png"))
    page.close()


def test_wall_board_language_by_url(live, browser: Browser) -> None:
    _, url, _ = live
    page = wall(browser, url, "zh")
    assert "排队数" in tile_text(page, "q01") and "普通业务" in tile_text(page, "q01")
    page.wait_for_timeout(1200)
    page.screenshot(path=str(SCREENSHOTS / "wall-zh.png"))
    page.goto(page.url.replace("lang=zh", "lang=en"))
    page.wait_for_selector(".cpw .tile")
    assert "Waiting" in tile_text(page, "q01") and "排队数" not in tile_text(page, "q01")
    page.close()


@pytest.mark.parametrize(
    "name", ["overview", "compare", "agents", "callbacks", "alerts", "ops", "definitions"]
)
def test_manager_pages_render(live, browser: Browser, name: str) -> None:
    _, url, _ = live
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    path = "" if name == "overview" else name  # the default page lives at /
    page.goto(f"{url}/{path}?tenant={seed.TENANT}&lang=zh")
    page.wait_for_selector("h1", timeout=30_000)
    if name == "overview":
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    if name in ("compare", "callbacks", "agents"):
        page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30_000)
    page.wait_for_timeout(800)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Page not found").count() == 0
    page.screenshot(path=str(SCREENSHOTS / f"manager-{name}.png"), full_page=True)
    page.close()


def test_wall_board_stale_banner_when_the_worker_stops_and_recovery(live, browser: Browser) -> None:
    p, url, _ = live
    page = wall(browser, url, "en", group="six")
    assert page.locator(".bar.banner").count() == 0
    for w in p.workers:
        w.stop()
    page.wait_for_selector(".bar.banner", timeout=20_000)  # heartbeat older than 5 s
    assert "DATA STOPPED" in page.inner_text(".bar.banner")
    assert page.locator(".cpw.stale").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "wall-stale-en.png"))
    p.start_worker()
    page.wait_for_selector(".bar.banner", state="detached", timeout=60_000)
    assert page.locator(".cpw.stale").count() == 0
    page.close()
