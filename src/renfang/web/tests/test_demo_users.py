"""``renfang demo_users``: the demo administrator, created once, reset on every run."""

from __future__ import annotations

import io

from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command


def run() -> str:
    out = io.StringIO()
    call_command("demo_users", stdout=out)
    return out.getvalue()


def test_creates_the_admin_and_says_how_to_log_in(db):
    output = run()
    assert "Open http://127.0.0.1:8000/ and log in as admin / renfang-demo" in output
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.is_active
    assert authenticate(username="admin", password="renfang-demo") == admin


def test_running_again_resets_the_password_and_changes_nothing_else(db):
    run()
    admin = User.objects.get(username="admin")
    admin.set_password("changed-by-someone")
    admin.is_active = False
    admin.save()
    run()
    assert User.objects.filter(username="admin").count() == 1
    assert authenticate(username="admin", password="renfang-demo") is not None
