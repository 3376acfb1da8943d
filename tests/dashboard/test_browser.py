"""In a real browser: Debian's headless Chromium, driven by Playwright, watches a search run.

The study page shows the search, the trial count grows to the store's number of evaluations as
the search goes on, the Pareto-front plot ends with as many non-dominated points as the store's
front (the supernet over the parameter budget is infeasible in both), and the note's link opens
the search's report. The screenshot is kept in the test's
temporary folder (``dashboard.png``).
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from fmas_hw.store import Store
from fmas_hw.store.front import stored_front

from .conftest import dashboard_url, fmas_hw, query, stop, wait_for
from .fakes import SLOW_FAILING

CHROMIUM = Path("/usr/bin/chromium")
#: What Chromium needs to run headless as root in a container, without reaching the network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: The page's request for the study and its trials.
STUDY_API = re.compile(r"/api/studies/\d+\?after=0$")


@pytest.fixture
def chromium():
    """Playwright's Chromium, the system's browser (``apt-get install chromium``; CI installs it)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)")
        pytest.skip(f"the dashboard's browser test needs a real browser and {CHROMIUM} is missing "
                    "on this machine: `apt-get install chromium` (under CI it fails instead)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _trial_count(page, url: str) -> int:
    """The "N Trials" the study's Trials page shows once its request for the study is answered
    (until then it says "0 Trials")."""
    page.goto("about:blank")  # no request of the page before may answer in place of this one's
    with page.expect_response(STUDY_API) as answer:
        page.goto(url)
    shown = len(answer.value.json()["trials"])
    page.get_by_text(f"{shown} Trials", exact=True).wait_for(timeout=30_000)
    return shown


@pytest.mark.slow
def test_a_running_search_watched_in_chromium(tmp_path, chromium):
    store = tmp_path / "live.sqlite"
    search = fmas_hw("search", "--population", "6", "--generations", "4", "--seed", "3", "--evaluator", SLOW_FAILING,
                     "--objective", "latency", "--max-params", "1500000", "--store", str(store),
                     log=tmp_path / "search.log", FMAS_FAKE_ACC_S="0.8", FMAS_FAKE_LAT_S="0.02")
    dashboard = None
    try:
        wait_for("the search's store", lambda: bool(query(store, "SELECT 1 FROM meta WHERE key = 'config'")), search)
        dashboard = fmas_hw("dashboard", "--store", str(store), "--port", "0", log=tmp_path / "dashboard.log")
        base = dashboard_url(dashboard, tmp_path / "dashboard.log")
        page = chromium.new_page(viewport={"width": 1280, "height": 900})

        page.goto(f"{base}/dashboard")
        page.locator("a[href^='/dashboard/studies/']", has_text="live").click()  # the study list names the search
        page.wait_for_url(re.compile(r".*/dashboard/studies/\d+$"))
        study = page.url.rsplit("/", 1)[1]
        page.get_by_text(f"live (id={study})").first.wait_for()

        counts = []
        while search.poll() is None:  # the Trials page as the search goes on
            counts.append(_trial_count(page, f"{base}/dashboard/studies/{study}/trials"))
        assert search.returncode == 0, (tmp_path / "search.log.err").read_text()
        evaluations = query(store, "SELECT COUNT(*) FROM evaluations")[0][0]
        wait_for("every evaluation in the browser", lambda: counts.append(
            _trial_count(page, f"{base}/dashboard/studies/{study}/trials")) or counts[-1] == evaluations, timeout=60)
        assert counts == sorted(counts) and counts[0] < evaluations, counts
        assert len(set(counts)) >= 3, f"the count did not grow as the search went on: {counts}"

        with Store.open(store, writable=False) as opened:
            front = len(stored_front(opened))
            kinds = {r.status for r in opened.evaluations()}
        assert kinds == {"ok", "failed", "rejected"}, "the search must leave trials of every state"
        page.goto(f"{base}/dashboard/studies/{study}")
        page.locator("#graph-pareto-front .scatterlayer .point").first.wait_for(timeout=30_000)
        best = page.evaluate("""() => document.getElementById('graph-pareto-front').data
                                .filter(t => t.hovertemplate.includes('Best Trial'))
                                .reduce((n, t) => n + t.x.length, 0)""")
        assert best == front, (best, front)
        page.wait_for_timeout(1500)  # the other plots finish drawing
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        page.goto(f"{base}/dashboard/studies/{study}/note")
        page.get_by_text("fmas-hw search live.sqlite").first.wait_for()
        page.get_by_role("link", name="The search's report").click()
        page.wait_for_url(f"{base}/report/")
        wait_for("the final report", lambda: page.reload() is not None and page.title() == (
            "FMAS search report — live.sqlite") and "4 generation(s) finished" in page.inner_text("body"), timeout=60)
        drawn = page.evaluate("() => [...document.images].map(i => i.naturalWidth > 0)")
        assert drawn and all(drawn), "a plot of the report did not load"
        page.screenshot(path=str(tmp_path / "report.png"))

        dashboard.send_signal(signal.SIGINT)
        assert dashboard.wait(timeout=20) == 0
    finally:
        stop(search)
        if dashboard is not None:
            stop(dashboard)
