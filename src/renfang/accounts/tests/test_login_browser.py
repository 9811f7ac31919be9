"""The login in a real Chromium: a district administrator sets up the second factor from the
key on the page and gets in; a committee clerk who mistypes the password too often is
locked out with the message on the page (Playwright)."""

from __future__ import annotations

import base64
import os
import time

import pytest
from django.contrib.auth.models import User
from django_otp.oath import TOTP

from renfang.accounts.models import Role
from renfang.accounts.tests.conftest import PASSWORD, Areas, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def site(transactional_db: None, live_server, areas: Areas) -> tuple[str, User, User]:
    admin = make_user("qu_admin", Role.DISTRICT_ADMIN, area=areas.district)
    clerk = make_user("clerk", Role.COMMITTEE_CLERK, area=areas.committee)
    return live_server.url, admin, clerk


def code_from_key(key_text: str) -> str:
    """What an authenticator app shows for the key typed in from the page."""
    key = base64.b32decode(key_text.replace(" ", ""))
    totp = TOTP(key, 30, 0, 6, 0)
    totp.time = time.time()
    return str(totp.token()).zfill(6)


def test_an_administrator_sets_up_the_second_factor_and_gets_in(browser, site):
    base_url, _admin, _clerk = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    page.goto(f"{base_url}/")
    page.fill("#id_username", "qu_admin")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")

    page.wait_for_selector("#totp-qr svg")
    assert "/account/second-factor/setup/" in page.url
    box = page.locator("#totp-qr svg").bounding_box()
    assert box is not None and box["width"] > 100  # a QR code one can scan
    if os.environ.get("RENFANG_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["RENFANG_SCREENSHOTS"], "totp-setup.png"))
    page.fill("#id_code", code_from_key(page.locator("#totp-key").inner_text()))
    page.click("button[type=submit].primary")

    page.wait_for_url(f"{base_url}/")
    assert page.locator("h1").inner_text() == "查找人员或房屋"
    page.close()


def test_a_locked_out_clerk_reads_why_on_the_login_page(browser, site):
    base_url, _admin, _clerk = site
    page = browser.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base_url}/login/")
    for _ in range(5):
        page.fill("#id_username", "clerk")
        page.fill("#id_password", "Not-the-password-1")
        page.click("button[type=submit].primary")
        page.wait_for_load_state()

    assert page.locator("#locked-out").is_visible()
    page.close()
