"""report.html in a real headless browser (Debian's Chromium driven by Playwright): it opens
with no network and no console errors, shows the figures of summary.json, and its tables
sort and filter by local authority. The screenshot in docs/outputs.md is taken here
(written when missing, or with BROKER_UPDATE_DOCS_IMAGES=1)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from broker.cli import main
from factories import client, scenario, supporter

ROOT = Path(__file__).resolve().parents[1]


def _open(browser, path: Path, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []

    def block(route):  # the page must need nothing from the network
        if not route.request.url.startswith("file:"):
            requests.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", block)
    page.goto(path.resolve().as_uri())
    return page, errors, requests


@pytest.fixture(scope="module")
def two_las(tmp_path_factory):
    s = scenario(
        [
            supporter("S1", x_km=0, capacity=3, name="North School"),
            supporter("S2", x_km=30, la="856", capacity=1, name="South <b>School</b>"),
        ],
        [
            client("C1", x_km=2, need=1, priority=3, name="Alpha Primary"),
            client("C2", x_km=4, need=1, priority=1, name="Beta Primary"),
            client("C3", x_km=31, la="856", need=1, priority=2, name="Gamma Primary"),
            client("C4", x_km=29, la="856", need=1, priority=5, name="Delta Primary"),
        ],
    )
    from broker.scenario import write_scenario

    folder = write_scenario(s, tmp_path_factory.mktemp("scen") / "two")
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(["run", str(folder), "--out", str(out), "--quiet", "--fix-solves", "6"]) == 0
    return out


def test_opens_offline_without_errors_and_shows_the_summary(browser, two_las):
    page, errors, requests = _open(browser, two_las / "report.html")
    figures = json.loads((two_las / "summary.json").read_text())
    for key in ("matched", "unmatched", "clients", "priority_matched", "total_cost_gbp"):
        shown = page.locator(f'[data-summary="{key}"]')
        assert float(shown.get_attribute("data-v")) == pytest.approx(float(figures[key]))
        assert shown.is_visible()
    assert page.locator("#map svg").count() == 1
    before = page.locator("#map svg").get_attribute("viewBox")
    page.locator("#map svg").hover()
    page.mouse.wheel(0, -300)  # zoom in
    zoomed = page.locator("#map svg").get_attribute("viewBox")
    assert float(zoomed.split()[2]) < float(before.split()[2])
    page.locator("#map svg").dblclick()  # back to the whole map
    assert page.locator("#map svg").get_attribute("viewBox").split() == before.split()
    assert "South <b>School</b>" in page.locator("#t-supporters").inner_text()
    assert page.locator("#t-supporters b").count() == 0  # a name is text, never markup
    assert errors == [] and requests == []
    page.close()


def test_sorting_and_the_la_filter(browser, two_las):
    page, errors, _ = _open(browser, two_las / "report.html")
    table = page.locator("#t-supporters")
    header = table.locator("thead th", has_text="capacity days")
    col = [h.strip() for h in table.locator("thead th").all_inner_texts()].index("capacity days")

    def column():
        cells = table.locator(f"tbody tr td:nth-child({col + 1})").all_inner_texts()
        return [float(c) for c in cells]

    header.click()
    assert column() == sorted(column())
    header.click()
    assert column() == sorted(column(), reverse=True)
    page.close()
    assert errors == []


def test_filter_hides_other_authorities(browser, two_las):
    page, errors, _ = _open(browser, two_las / "report.html")
    names = page.locator("#la-filter option").all_inner_texts()[1:]
    assert len(names) == 2
    page.select_option("#la-filter", label=names[0])
    rows = page.locator("#t-matched tbody tr:not(.hidden)")
    assert rows.count() >= 1
    assert set(rows.locator("td:nth-child(3)").all_inner_texts()) == {names[0]}
    assert page.locator("#t-matched-count").inner_text() == f"{rows.count()} rows"
    page.select_option("#la-filter", label="All authorities")
    assert page.locator("#t-matched tbody tr.hidden").count() == 0
    page.close()
    assert errors == []


def test_leicestershire_report_and_screenshot(browser, tmp_path):
    out = tmp_path / "leics"
    leics = str(ROOT / "scenarios" / "leicestershire")
    assert main(["run", leics, "--out", str(out), "--quiet", "--fix-solves", "8"]) == 0
    page, errors, requests = _open(browser, out / "report.html", width=1200)
    figures = json.loads((out / "summary.json").read_text())
    assert page.locator('[data-summary="matched"]').inner_text() == str(figures["matched"])
    titles = page.locator("#cli-unmatched use title")  # shown on hover
    assert titles.count() == figures["unmatched"]
    assert "unmatched (authority_budget)" in titles.first.text_content()
    assert page.locator("#cli-matched use title").count() == figures["matched"]
    unmatched_rows = page.locator("#t-unmatched tbody tr")
    assert unmatched_rows.count() >= figures["unmatched"]
    assert "raise the budget" in page.locator("#t-unmatched").inner_text() or (
        "pin it to" in page.locator("#t-unmatched").inner_text()
    )
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    docs_image = ROOT / "docs" / "img" / "report.png"  # shown in docs/outputs.md
    if not docs_image.exists() or os.environ.get("BROKER_UPDATE_DOCS_IMAGES"):
        docs_image.write_bytes(shot.read_bytes())
    assert errors == [] and requests == []
    page.close()
