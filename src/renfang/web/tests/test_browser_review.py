"""The review queue and the conflicts list in a real Chromium on a phone (Playwright): a street
officer links a pair and sees both sources on the person page; a committee clerk settles a
conflict. The pages are in Chinese, as the users see them."""

from __future__ import annotations

import pytest

from renfang.linkage.models import ReviewStatus
from renfang.people.models import Conflict, ConflictStatus
from renfang.testing.matrix import build_world
from renfang.testing.sources import plant_pair_to_review, plant_sources
from renfang.testing.users import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def site(transactional_db: None, live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = build_world()
    planted = plant_sources(world)
    twin = plant_pair_to_review(world, police=planted["A1"].police)
    return live_server.url, world, planted, twin


def _log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base_url}/")


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 375px"


def test_an_officer_links_a_pair_and_a_clerk_settles_a_conflict(browser, site):
    base_url, world, planted, twin = site
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)

    # The street officer opens the review queue from the navigation, then the pair.
    _log_in(page, base_url, "m_officer")
    page.click("#nav-review")
    page.wait_for_selector("#review-pairs")
    _no_sideways_scroll(page)
    page.click(f"a[href='/review/{twin.pair.pk}/']")
    page.wait_for_selector("#pair")
    assert "卫健" in page.locator("#pair thead").inner_text()
    assert world.planted["A1"].id_number not in page.content()
    _no_sideways_scroll(page)

    page.fill("#decision-note", "电话相同，繁体字")
    page.click("#decide-same")
    page.wait_for_selector("p.notice[role=status]")
    twin.pair.refresh_from_db()
    assert twin.pair.status == ReviewStatus.SAME

    # The person page now holds both sources' records.
    page.locator("#pair-persons a.pair-person").first.click()
    page.wait_for_selector("#source-records")
    records = page.locator("#source-records").inner_text()
    assert "公安户籍" in records and "卫健" in records
    assert page.locator("#sources").is_visible()
    _no_sideways_scroll(page)
    page.click(".header-tools .logout button")
    page.wait_for_url(f"{base_url}/login/")

    # The committee clerk settles A1's conflict from the conflicts list.
    conflict = planted["A1"].conflict
    _log_in(page, base_url, "m_clerk")
    assert page.locator("#nav-review").count() == 0  # a clerk does not resolve identities
    page.click("#nav-conflicts")
    page.wait_for_selector("#conflicts")
    _no_sideways_scroll(page)
    row = page.locator(f"#conflict-{conflict.pk}")
    row.locator("details.settle summary").click()
    row.locator("input[name=note]").fill("以民政婚姻登记为准")
    row.locator("button[value=settled]").click()
    page.wait_for_selector("p.notice[role=status]")
    assert page.locator(f"#conflict-{conflict.pk}").count() == 0  # no longer open
    settled = Conflict.objects.get(pk=conflict.pk)
    assert settled.status == ConflictStatus.SETTLED
    assert settled.note == "以民政婚姻登记为准"
    assert settled.settled_by == world.users["committee_clerk"]
    context.close()
