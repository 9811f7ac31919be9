"""The pages under the Content-Security-Policy in a real Chromium (issue 11, finding 13): they
render, the charts draw and show their tooltips, the API docs work, and the browser reports
no violation of the policy."""

from __future__ import annotations

import pytest

from renfang.web.tests.test_browser import log_in, site

__all__ = ["site"]  # the fixture

pytestmark = pytest.mark.browser

# Collects what the browser blocks, from before the page's own scripts run.
_WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def test_the_pages_work_under_the_policy_with_no_violation(browser, site):
    base_url, district = site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(_WATCH)
    page = context.new_page()
    page.set_default_timeout(10_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    violations: list[str] = []

    def visit(path: str, ready: str) -> None:
        response = page.goto(f"{base_url}{path}")
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_selector(ready)
        violations.extend(f"{path}: {v}" for v in page.evaluate("window.__violations"))

    log_in(page, base_url)
    visit("/", "#home-q")
    visit(f"/people/{district.zhang.pk}/", "#residences")
    visit(f"/houses/{district.house_tianping.house_code}/", "#residents-now")
    visit(f"/areas/{district.tianping.code}/", "#category-chart canvas")
    page.wait_for_selector("#subarea-chart canvas")
    drawn = page.evaluate(
        "() => { const c = document.querySelector('#category-chart canvas');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) return true; } return false; }"
    )
    assert drawn, "the pie chart draws under the policy"
    box = page.locator("#category-chart canvas").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)  # the tooltip (inline styles on its element)
    violations.extend(f"chart tooltip: {v}" for v in page.evaluate("window.__violations"))
    visit("/account/second-factor/setup/", "#totp-qr svg")
    assert page.locator("#totp-qr svg").bounding_box()["width"] > 100
    visit("/api/docs", ".swagger-ui .information-container")

    assert violations == []
    assert not [text for text in console if "Content Security Policy" in text], console
    context.close()
