"""Subscriptions in a real Chromium on a phone (Playwright): the district administrator opens
the subscriptions from the navigation, creates one for the civil affairs department (a bad
area first: the form says so at the field), and sees its feed as the department receives it;
the department reader then sees the same feed on its own page. In Chinese, as users see it."""

from __future__ import annotations

import pytest

from renfang.exchange.models import Subscription
from renfang.exchange.tests.feed_world import plant_feed
from renfang.testing.matrix import build_world
from renfang.testing.users import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}
A1 = "310104003001"
B1 = "310104004001"


@pytest.fixture
def site(transactional_db: None, live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.RENFANG_TOTP = "off"  # the administrator's second factor is tested elsewhere
    world = build_world()
    plant_feed(world)
    Subscription.objects.all().delete()  # the administrator makes the subscription here
    return live_server.url, world


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


def test_the_admin_creates_a_subscription_on_a_phone_and_sees_its_feed(browser, site):
    base_url, world = site
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)

    _log_in(page, base_url, "m_admin")
    page.click("#nav-subscriptions")
    page.wait_for_selector("#subscriptions")
    _no_sideways_scroll(page)
    page.click("#subscription-new")
    page.wait_for_selector("#subscription-form")
    _no_sideways_scroll(page)

    page.select_option("#id_subscriber", label="m_reader")
    page.fill("#id_name", "民政 甲一 迁入")
    page.check("input[name=event_types][value='person.arrived']")
    page.fill("#id_areas", B1)  # outside the department's grant
    page.check("input[name=person_fields][value=name]")
    page.click("#subscription-save")
    page.wait_for_selector("#field-areas p.error")
    assert B1 in page.locator("#field-areas p.error").inner_text()
    assert not Subscription.objects.exists()

    page.fill("#id_areas", A1)
    page.click("#subscription-save")
    page.wait_for_selector("#feed")
    _no_sideways_scroll(page)
    feed = page.locator("#feed").inner_text()
    assert world.planted["A1"].person.name in feed
    assert world.planted["B1"].person.name not in feed  # another street
    assert world.planted["A1"].id_number not in page.content()  # not granted
    assert world.planted["A1"].phone not in page.content()
    subscription = Subscription.objects.get()
    assert subscription.areas == [A1]
    page.click(".header-tools .logout button")
    page.wait_for_url(f"{base_url}/login/")

    # The department reader finds the same events on its own page.
    _log_in(page, base_url, "m_reader")
    page.click("#nav-feeds")
    page.wait_for_selector(f"#feed-{subscription.pk}")
    _no_sideways_scroll(page)
    own = page.locator(f"#feed-{subscription.pk}").inner_text()
    assert world.planted["A1"].person.name in own
    assert world.planted["B1"].person.name not in own
    context.close()
