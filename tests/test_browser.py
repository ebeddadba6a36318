"""The built book in a real browser (Debian's headless Chromium, driven by Playwright), offline.

The site is built from scratch into a temporary folder and served on 127.0.0.1; every request to any
other host is blocked and counted, so the pages must work with no network at all. A screenshot of
every page is written to the folder named by ``CFCOURSE_SCREENSHOTS`` (default:
``_build/screenshots``) for a person to look at.

On a machine without ``/usr/bin/chromium`` these tests skip, saying why; in CI (``CI=true``) a
missing browser is a failure instead.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from test_book import ROOT, chapter_files, toc_files

CHROMIUM = Path(os.environ.get("CFCOURSE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI must run the browser tests, but {CHROMIUM} is missing (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package to run the browser tests")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def site(built_book):
    """The book built from scratch, served on 127.0.0.1; yields the base URL."""
    _require_browser()
    html = built_book
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = Path(os.environ.get("CFCOURSE_SCREENSHOTS", ROOT / "_build" / "screenshots"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield browser
        browser.close()


class PageWatch:
    """Opens a page offline and records failed requests, off-site requests and console errors."""

    def __init__(self, browser, base: str):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.failed: list[str] = []
        self.offsite: list[str] = []
        self.errors: list[str] = []
        host = urlparse(base).netloc

        def route(r):
            if urlparse(r.request.url).netloc != host and not r.request.url.startswith("data:"):
                self.offsite.append(r.request.url)
                return r.abort()
            return r.continue_()

        self.context.route("**/*", route)
        self.page.on("requestfailed", lambda req: req.url not in self.offsite and self.failed.append(req.url))
        self.page.on("response", lambda resp: resp.status >= 400 and self.failed.append(f"{resp.status} {resp.url}"))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def close(self):
        self.context.close()


@pytest.fixture
def watch(browser, site):
    """A fresh offline browser context for one test, closed afterwards."""
    watcher = PageWatch(browser, site)
    yield watcher
    watcher.close()


@pytest.mark.parametrize("page_path", toc_files())
def test_page_loads_offline_without_errors(watch, site, screenshots, page_path):
    page = watch.page
    page.goto(f"{site}/{page_path}.html", wait_until="networkidle")
    # Every figure is really loaded (lazy images are asked for at once, then checked).
    page.eval_on_selector_all("img", "imgs => imgs.forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=15000)
    broken = page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert broken == [], f"images not loaded: {broken}"
    if page_path.startswith("notebooks/"):
        figures = page.eval_on_selector_all("main img[src*='_images/']", "imgs => imgs.length")
        assert figures > 0, f"{page_path} shows no figure"
    # Every formula is typeset by the MathJax served from the site itself.
    n_math = page.eval_on_selector_all("main .math", "els => els.length")
    if n_math:
        page.wait_for_function("() => document.querySelectorAll('main mjx-container').length > 0",
                               timeout=15000)
        raw = page.eval_on_selector_all(
            "main .math", "els => els.filter(e => !e.querySelector('mjx-container')).length")
        assert raw == 0, f"{raw} of {n_math} formulas were left as raw TeX"
    page.screenshot(path=str(screenshots / f"{page_path.replace('/', '__')}.png"), full_page=True)
    assert watch.failed == [], f"failed requests: {watch.failed}"
    assert watch.errors == [], f"console errors: {watch.errors}"
    assert not [u for u in watch.offsite if "mathjax" in u.lower()], "MathJax must not come from a CDN"


def test_next_and_previous_navigation(watch, site):
    page = watch.page
    pages = toc_files()
    page.goto(f"{site}/{pages[0]}.html", wait_until="networkidle")
    for expected in pages[1:]:
        with page.expect_navigation():
            page.click("a.right-next")
        assert page.url.endswith(f"{expected}.html"), f"'next' led to {page.url}, expected {expected}"
    with page.expect_navigation():
        page.click("a.left-prev")
    assert page.url.endswith(f"{pages[-2]}.html")
    assert watch.errors == []


def test_search_finds_the_chapters(watch, site):
    page = watch.page
    page.goto(f"{site}/search.html?q=embedding", wait_until="networkidle")
    page.wait_for_selector("#search-results li", timeout=20000)
    hrefs = page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.getAttribute('href'))")
    found = {h.split("?")[0].split("#")[0].removesuffix(".html") for h in hrefs}
    chapters = [c for c in chapter_files() if c != "notebooks/01_data"]
    assert chapters, "no chapter beyond the data tour is in the table of contents"
    missing = [c for c in chapters if not any(f.endswith(c) for f in found)]
    assert not missing, f"search for 'embedding' misses {missing}; found {sorted(found)}"
    assert watch.errors == []


PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("page_path", [p for p in toc_files() if p.startswith("notebooks/")] + ["book/results"])
def test_page_reads_on_a_390px_phone(browser, site, screenshots, page_path):
    """At a phone's width nothing scrolls the page sideways, outputs wrap, and figures keep a readable size."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{site}/{page_path}.html", wait_until="networkidle")
        page.eval_on_selector_all("img", "imgs => imgs.forEach(i => { i.loading = 'eager'; })")
        page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=15000)
        page.screenshot(path=str(screenshots / f"{page_path.replace('/', '__')}__390px.png"), full_page=True)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page scrolls sideways by {overflow} px"
        cut = page.eval_on_selector_all(
            "div.cell_output pre",
            "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.slice(0, 80))")
        assert cut == [], f"outputs that do not wrap (cut off on a phone): {cut}"
        shrunk = page.eval_on_selector_all(
            "main figure img",
            """imgs => imgs.map(i => [i.getAttribute('alt').slice(0, 40),
                                      i.getBoundingClientRect().width / (i.naturalWidth / 2)])
                       .filter(([alt, ratio]) => ratio < 0.6)""")
        assert shrunk == [], f"figures shrunk below 60% of their size on a phone (text unreadable): {shrunk}"
        squashed = page.eval_on_selector_all(
            "main figure img",
            """imgs => imgs.filter(i => Math.abs(i.getBoundingClientRect().height / i.getBoundingClientRect().width
                                               - i.naturalHeight / i.naturalWidth) > 0.02).length""")
        assert squashed == 0, "figures lost their proportions"
    finally:
        context.close()
