"""The API docs page in a real Chromium: Swagger UI from the app's own files (no CDN is
reachable), calling the API with the browser's session."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from renfang.accounts.models import Role, RoleGrant
from renfang.areas.models import Area, AreaLevel

pytestmark = pytest.mark.browser


def test_the_docs_page_works_offline_with_the_session(browser, transactional_db, live_server):
    city = Area.objects.create(code="31", name="上海市", level=AreaLevel.CITY)
    committee = Area.objects.create(
        code="310104003001", name="天平居委会", parent=city, level=AreaLevel.COMMITTEE
    )
    clerk = User.objects.create_user("docs_clerk", password="a-long-test-password")
    RoleGrant.objects.create(user=clerk, role=Role.COMMITTEE_CLERK, area=committee)
    client = Client()
    client.force_login(clerk)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    context = browser.new_context()
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))

    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "renfang API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector("#operations-me-me_get")

    page.click("#operations-me-me_get .opblock-summary")
    page.click("#operations-me-me_get button.try-out__btn")
    page.click("#operations-me-me_get button.execute")
    body = page.wait_for_selector("#operations-me-me_get .live-responses-table .highlight-code")
    assert '"username": "docs_clerk"' in body.inner_text()
    assert hosts == {urlparse(live_server.url).netloc}, "the page fetched from elsewhere"
    context.close()
