"""The pages in a real Chromium, as a collector and an officer use them (Playwright)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User

from renfang.web.tests.conftest import District, build_district

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a-long-test-password"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(transactional_db: None, live_server) -> tuple[str, District]:
    User.objects.create_user("collector", password=PASSWORD)
    return live_server.url, build_district()


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    assert "/login/" in page.url  # every page needs a login
    page.fill("#id_username", "collector")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base_url}/")


def test_from_search_to_person_house_and_area_then_english(browser, site):
    base_url, district = site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, base_url)
    assert page.locator("h1").inner_text() == "查找人员或房屋"

    page.fill("#home-q", "张")
    page.press("#home-q", "Enter")
    page.wait_for_selector("#people-results")
    page.click("#people-results a:text('张伟')")
    page.wait_for_selector("#residences")
    assert page.locator("h1").inner_text() == "张伟"
    assert "户籍人口" in page.locator(".badge.category").inner_text()

    page.click("#residences a:text('天平路12号301室')")
    page.wait_for_selector("#residents-now")
    assert "张伟" in page.locator("#residents-now").inner_text()
    assert "李娜" in page.locator("#residents-before").inner_text()

    page.click(".breadcrumb a:text('徐汇区')")
    canvas = page.wait_for_selector("#category-chart canvas")
    assert canvas.bounding_box()["width"] > 100
    page.wait_for_selector("#subarea-chart canvas")
    drawn = page.evaluate(
        "() => { const c = document.querySelector('#category-chart canvas');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) return true; } return false; }"
    )
    assert drawn, "the pie chart has pixels on its canvas"

    page.click(".language-switch button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert "Actual population" in page.locator("#population h2").inner_text()
    assert page.locator(".header-tools .logout button").inner_text() == "Log out"
    context.close()


def test_phone_layout_has_no_horizontal_scroll(browser, site):
    base_url, district = site
    context = browser.new_context(
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, base_url)
    for path in (
        "/",
        "/search/?q=310104",
        f"/people/{district.li.pk}/",
        f"/houses/{district.house_tianping.house_code}/",
        "/areas/310104/?as_of=2025-01-01&compare_to=2019-01-01",
    ):
        page.goto(base_url + path)
        page.wait_for_load_state("load")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375px"
    context.close()
