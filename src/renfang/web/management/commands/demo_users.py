"""``renfang demo_users``: the demo's administrator, created or reset, and how to log in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

USERNAME = "admin"
PASSWORD = "renfang-demo"  # a demo password, printed on purpose; never for a real deployment


class Command(BaseCommand):
    help = f"Create the demo superuser {USERNAME!r} (or reset its password) and say how to log in."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="where the app is served"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        lookup: dict[str, Any] = {user_model.USERNAME_FIELD: USERNAME}
        user, created = user_model._default_manager.get_or_create(**lookup)
        user.is_active = True
        user.is_staff = True
        user.is_superuser = True
        user.set_password(PASSWORD)
        user.save()
        action = "Created" if created else "Reset"
        self.stdout.write(f"{action} the demo superuser {USERNAME}.")
        self.stdout.write(f"Open {options['url']} and log in as {USERNAME} / {PASSWORD}")
