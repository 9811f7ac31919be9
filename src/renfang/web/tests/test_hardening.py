"""Web hardening (issue 11, findings 13 and 14): a Content-Security-Policy the pages work with,
no copy of a page, an API answer or an export kept by a browser or a proxy, ``check --deploy``
clean in production, and a body over the limit answered 413 with a page that says so."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from renfang.testing.district import District

pytestmark = pytest.mark.django_db

SRC = Path(__file__).resolve().parents[2]  # src/renfang


def _no_store(response: object) -> bool:
    cache = response.get("Cache-Control", "")  # type: ignore[attr-defined]
    return "no-store" in cache and response.get("Pragma") == "no-cache"  # type: ignore[attr-defined]


def test_person_pages_api_answers_and_exports_are_not_kept_and_carry_the_policy(
    officer_client: Client, district: District
) -> None:
    person = district.zhang.pk
    answers = {
        "person page": officer_client.get(reverse("web:person_detail", args=[person])),
        "API": officer_client.get(f"/api/people/{person}"),
        "export": officer_client.get("/search/people.xlsx?q=张"),
        "audit-free page": officer_client.get("/"),
    }
    for what, response in answers.items():
        assert response.status_code == 200, what
        assert _no_store(response), f"{what}: {response.get('Cache-Control')}"
        assert "private" in response["Cache-Control"], what
        assert response["Content-Security-Policy"] == settings.RENFANG_CONTENT_SECURITY_POLICY
    policy = settings.RENFANG_CONTENT_SECURITY_POLICY
    assert (
        "script-src 'self';" in policy
        and "'unsafe-inline'" not in policy.split("style-src-attr")[0]
    )
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_the_login_page_and_errors_are_not_kept_either() -> None:
    client = Client()
    for response in (client.get("/login/"), client.get("/api/people/1"), client.get("/nowhere/")):
        assert _no_store(response), response.get("Cache-Control")
        assert "Content-Security-Policy" in response


_TEMPLATES = sorted(SRC.rglob("templates/**/*.html"))
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)


def test_no_template_needs_what_the_policy_forbids() -> None:
    """Inline scripts, style elements, event-handler attributes and javascript: links would be
    blocked by the Content-Security-Policy: none may appear in a template."""
    assert _TEMPLATES
    problems = []
    for path in _TEMPLATES:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(SRC).as_posix()
        problems += [f"{name}: inline script" for _ in _INLINE_SCRIPT.finditer(text)]
        problems += [f"{name}: style element" for _ in re.finditer(r"<style\b", text, re.I)]
        problems += [
            f"{name}: {m.group(1)} attribute"
            for m in re.finditer(r"\s(on[a-z]+)\s*=\s*[\"']", text, re.I)
        ]
        problems += [f"{name}: javascript: link" for _ in re.finditer("javascript:", text, re.I)]
    assert not problems, problems


def test_a_form_over_the_limit_is_answered_413_with_a_page(officer_client: Client) -> None:
    english = officer_client
    english.cookies["django_language"] = "en"
    big = {"q": "x" * 3_000_000}
    response = english.post("/search/", big)  # a form with files (multipart)
    urlencoded = english.post("/search/", "q=" + "x" * 3_000_000, content_type="text/plain")

    assert response.status_code == urlencoded.status_code == 413
    page = response.content.decode()
    assert 'id="too-large"' in page
    assert "The request is too large: at most 2,621,440 bytes are accepted." in page


def _run(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("RENFANG_", "DJANGO_"))}
    return subprocess.run(  # noqa: S603 (our own command)
        [sys.executable, "-m", "renfang.cli", *command],
        env={**keep, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def production(tmp_path: Path) -> dict[str, str]:
    key = tmp_path / "secret_key"
    key.write_text("k" + "0123456789abcdefghijklmnopqrstuvwxyz!@#$%^&*(-_=+)" * 2, encoding="utf-8")
    audit_key = tmp_path / "audit_key"
    audit_key.write_bytes(bytes(range(64)))
    return {
        "RENFANG_PRODUCTION": "true",
        "RENFANG_SECRET_KEY_FILE": str(key),
        "RENFANG_AUDIT_KEY_FILE": str(audit_key),
        "RENFANG_AUDIT_ANCHOR_FILE": str(tmp_path / "anchors.jsonl"),
        "RENFANG_ALLOWED_HOSTS": "renfang.example.gov.cn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }


def test_check_deploy_is_clean_in_production(production: dict[str, str]) -> None:
    done = _run(["check", "--deploy", "--fail-level", "WARNING"], **production)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_still_warns_when_https_is_switched_off(
    production: dict[str, str],
) -> None:
    done = _run(
        ["check", "--deploy"], **production, RENFANG_HSTS_SECONDS="0", RENFANG_SSL_REDIRECT="false"
    )
    assert "security.W004" in done.stdout + done.stderr
    assert "security.W008" in done.stdout + done.stderr


def test_the_proxy_header_and_trusted_origins_come_from_the_environment(
    production: dict[str, str],
) -> None:
    show = (
        "from django.conf import settings as s; "
        "print(s.SECURE_PROXY_SSL_HEADER, s.CSRF_TRUSTED_ORIGINS, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_SSL_REDIRECT)"
    )
    done = _run(
        ["shell", "-c", show],
        **production,
        RENFANG_PROXY_SSL_HEADER="X-Forwarded-Proto: https",
        RENFANG_CSRF_TRUSTED_ORIGINS="https://renfang.example.gov.cn, https://rf.example.cn",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == (
        "('HTTP_X_FORWARDED_PROTO', 'https') "
        "['https://renfang.example.gov.cn', 'https://rf.example.cn'] 31536000 True"
    )
    bad = _run(["check"], **production, RENFANG_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert bad.returncode != 0 and "RENFANG_PROXY_SSL_HEADER" in bad.stderr
    bad = _run(["check"], **production, RENFANG_CSRF_TRUSTED_ORIGINS="renfang.example.gov.cn")
    assert bad.returncode != 0 and "must start with https://" in bad.stderr
