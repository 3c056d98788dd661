"""The pages in a real browser: Debian's Chromium driven by Playwright, on a real server.

A uvicorn server runs in a thread on a free loopback port. A programme user signs
in, starts a round, opens it and moves a deployment to its next stage; an LA user
signs in, moves one of its own deployments and runs a what-if. With
``BROKER_SCREENSHOTS=1`` the screenshots replace the ones ``docs/service.md`` shows
(``docs/img/service-*.png``); otherwise they go to a temporary folder, so running the
tests leaves the tree as it was.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from broker.service.app import create_app
from broker.service.config import Settings
from service_helpers import PASSWORD, auth, make_users, write_scenario, zip_folder

DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp}/ledger.db"
    app = create_app(Settings(db=url, secret="browser", time_limit_s=5))
    tokens = make_users(url)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < end, "server did not start"
        time.sleep(0.05)
    zipped = zip_folder(write_scenario(tmp / "scenario"))
    r = httpx.post(
        f"{base}/api/scenarios",
        files={"file": ("two-authorities.zip", zipped, "application/zip")},
        headers=auth(tokens["prog"]),
    )
    assert r.status_code == 201, r.text
    yield base
    srv.should_exit = True
    thread.join(10)


def _sign_in(page, base: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="module")
def img(tmp_path_factory) -> Path:
    if os.environ.get("BROKER_SCREENSHOTS"):
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        return DOCS_IMG
    return tmp_path_factory.mktemp("screenshots")


def _shot(page, img: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(img / f"service-{name}.png"), full_page=True)


def test_programme_then_la_user_in_the_browser(browser, server, img):
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server}/login")
    _shot(page, img, "login")

    # programme: start a round, follow it, open it, move a deployment
    _sign_in(page, server, "prog")
    page.get_by_label("Round name").fill("Autumn round")
    page.get_by_label("Time limit (seconds)").fill("5")
    page.get_by_role("button", name="Start round").click()
    page.get_by_role("link", name="Open round 1").wait_for()
    page.get_by_role("link", name="Open round 1").click()
    assert page.get_by_role("heading", name="Round 1: Autumn round").is_visible()
    assert page.locator("svg.map circle").count() == 7
    unmatched = page.locator("table").first.inner_text()
    assert "no supporter within reach" in unmatched and "km" in unmatched.split("reach 30 km")[1]
    _shot(page, img, "round")
    page.get_by_role("link", name="#4").click()
    page.get_by_label("Note").first.fill("first call booked")
    page.get_by_role("button", name="Move to scoped").click()
    assert page.locator("#stage-now").inner_text() == "scoped"
    assert "first call booked" in page.locator("table").last.inner_text()
    _shot(page, img, "deployment")
    page.goto(f"{server}/rounds")
    _shot(page, img, "rounds")
    page.get_by_role("button", name="Sign out").click()

    # LA 855: only its own clients; a stage change and a what-if
    _sign_in(page, server, "la855")
    assert page.get_by_role("heading", name="LA 855: dashboard").is_visible()
    page.goto(f"{server}/rounds/1")
    # the whole page, attributes included, less the random CSRF tokens (one held
    # "...SJmD1lt..." and failed this check once)
    text = re.sub(r'name="csrf_token" value="[^"]*"', "", page.content())
    assert "C1" in text and "D1" not in text and "S3" not in text
    page.goto(f"{server}/deployments")
    page.get_by_role("link", name="#1", exact=True).click()
    page.get_by_role("button", name="Move to scoped").click()
    assert page.locator("#stage-now").inner_text() == "scoped"
    page.goto(f"{server}/deployments/4")
    assert page.get_by_role("heading", name="Not found").is_visible()
    page.goto(f"{server}/dashboard")
    page.get_by_label("Name", exact=True).fill("S1 gives half a day")
    page.get_by_label("Supporter id").fill("S1")
    page.get_by_label("Capacity (days/week)").fill("0.5")
    page.get_by_role("button", name="Run what-if").click()
    page.get_by_role("heading", name="By authority").wait_for()
    assert "lost" in page.locator("main").inner_text()
    _shot(page, img, "whatif")
    page.goto(f"{server}/dashboard")
    page.get_by_label("Name", exact=True).fill("Budget £5,000")
    page.get_by_label("Authority budget (£)").fill("5000")
    page.get_by_role("button", name="Run what-if").click()
    page.get_by_role("heading", name="By authority").wait_for()
    page.goto(f"{server}/dashboard")
    assert page.locator("section.whatif").count() == 2
    _shot(page, img, "dashboard")

    # keyboard: the skip link is the first thing a keyboard user reaches
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    ctx.close()


def test_a_what_if_the_scenario_would_refuse_is_a_clear_page(browser, server, img):
    """A value the form's own checks would stop (three decimals of a day), sent anyway:
    the page names the change and what was expected; no job starts, no server error."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    _sign_in(page, server, "la855")
    if page.get_by_role("button", name="Run what-if").is_disabled():  # run alone: no round
        page.get_by_role("button", name="Sign out").click()
        _sign_in(page, server, "prog")
        page.get_by_label("Time limit (seconds)").fill("5")
        page.get_by_role("button", name="Start round").click()
        page.get_by_role("link", name="Open round 1").wait_for()
        page.get_by_role("button", name="Sign out").click()
        _sign_in(page, server, "la855")
    before = page.locator("section.whatif").count()
    page.get_by_label("Supporter id").fill("S1")
    page.get_by_label("Capacity (days/week)").fill("1.234")
    page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Run what-if").click()
    assert answer.value.status == 400
    text = page.locator("main").inner_text()
    assert "capacity_days" in text and "decimal places" in text, text
    _shot(page, img, "whatif-refused")
    page.goto(f"{server}/dashboard")
    assert page.locator("section.whatif").count() == before  # nothing was started
    ctx.close()
