"""The pages in a real Chromium, as a street officer, a committee clerk and an auditor use them
(Playwright)."""

from __future__ import annotations

import pytest

from renfang.accounts.access import mask_id_number
from renfang.accounts.models import Role
from renfang.testing.district import District, build_district
from renfang.testing.users import user_with_role

pytestmark = pytest.mark.browser

PASSWORD = "a-long-test-password"


@pytest.fixture
def site(transactional_db: None, live_server) -> tuple[str, District]:
    district = build_district()
    user_with_role("street", Role.STREET_OFFICER, "310104003")  # 天平路街道
    user_with_role("clerk", Role.COMMITTEE_CLERK, "310104003001")  # 天平居委会
    user_with_role("auditor", Role.AUDITOR, "310104")
    return live_server.url, district


def log_in(page, base_url: str, username: str = "street") -> None:
    page.goto(f"{base_url}/")
    assert "/login/" in page.url  # every page needs a login
    page.fill("#id_username", username)
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

    # The district is above the officer's street: named, not a link.
    assert page.locator(".breadcrumb a:text('徐汇区')").count() == 0
    page.click(".breadcrumb a:text('天平路街道')")
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
        "/areas/310104003/?as_of=2025-01-01&compare_to=2019-01-01",
    ):
        page.goto(base_url + path)
        page.wait_for_load_state("load")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375px"
    context.close()


def overflow(page) -> int:
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


def clerk_unmasks(page, base_url: str, zhang, purpose: str) -> None:
    """The clerk finds Zhang, sees his ID number masked and shows it in full for a purpose."""
    log_in(page, base_url, "clerk")
    page.fill("#home-q", "张伟")
    page.press("#home-q", "Enter")
    page.wait_for_selector("#people-results")
    assert mask_id_number(zhang.id_number) in page.locator("#people-results").inner_text()
    page.click("#people-results a:text('张伟')")
    page.wait_for_selector("#id-number")
    assert page.locator("#id-number .mono").inner_text() == mask_id_number(zhang.id_number)
    assert zhang.id_number not in page.content()

    # Showing it in full asks why; an empty purpose is not sent.
    page.click("#id-number details.reveal summary")
    page.click("#id-number button[type=submit]")
    assert page.locator("#id-number input[name=purpose]").evaluate("e => !e.validity.valid")
    assert "/reveal/" not in page.url
    page.fill("#id-number input[name=purpose]", purpose)
    page.click("#id-number button[type=submit]")
    page.wait_for_url(f"{base_url}/people/{zhang.pk}/reveal/")
    assert page.locator("#id-number .mono").inner_text() == zhang.id_number
    assert purpose in page.locator("p.notice").inner_text()
    assert overflow(page) <= 0, "the person page scrolls sideways at 375px"

    # Back on the page later, the number is masked again.
    page.goto(f"{base_url}/people/{zhang.pk}/")
    assert page.locator("#id-number .mono").inner_text() == mask_id_number(zhang.id_number)
    page.click(".header-tools .logout button")
    page.wait_for_url(f"{base_url}/login/")


def auditor_finds(page, base_url: str, zhang, purpose: str) -> None:
    """The auditor finds the clerk's unmask with its purpose, then who has read Zhang."""
    log_in(page, base_url, "auditor")
    assert page.locator("#home-q").count() == 0  # an auditor searches no people
    page.click(".audit-link")
    page.wait_for_selector("form.audit-search")
    page.fill("#id_user", "clerk")
    page.select_option("#id_action", "unmask")
    page.click("form.audit-search button[type=submit]")
    page.wait_for_selector("#audit-results")
    results = page.locator("#audit-results tbody tr")
    assert results.count() == 1
    row = results.first.inner_text()
    assert "clerk" in row and purpose in row and "id_number" in row
    assert overflow(page) <= 0, "the audit log scrolls sideways at 375px"

    results.first.locator("a[href*='/audit/records/person/']").click()
    page.wait_for_selector("#readers")
    # The clerk who read it, and "system", whose services wrote the record when it was made.
    readers = page.locator("#readers tbody tr", has_text="clerk")
    assert readers.count() == 1
    cells = readers.first.locator("td").all_inner_texts()
    assert cells[0] == "clerk"
    assert int(cells[1]) >= 2 and cells[2] == "1"  # the reads, and one number shown in full
    assert purpose in page.locator("#audit-results").inner_text()
    assert zhang.id_number not in page.content()


def test_a_clerk_unmasks_an_id_number_and_an_auditor_finds_it(browser, site):
    base_url, district = site
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    clerk_unmasks(page, base_url, district.zhang, "核对低保申请材料")
    auditor_finds(page, base_url, district.zhang, "核对低保申请材料")
    context.close()
