"""``renfang unlock USERNAME``: forget a username's failed logins, from every address, so the
real user may log in again before the lock-out ends (audited as the operator's)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renfang.accounts.lockout import failures_clear_for_user
from renfang.accounts.services import user_unlock


class Command(BaseCommand):
    help = str(gettext_lazy("Lift a lock-out: forget a username's failed logins."))

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        username = str(options["username"])
        model = get_user_model()
        user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
        # A username nobody has is locked out the same way (guessing gives nothing away).
        cleared = (
            user_unlock(user=user, unlocked_by=None)
            if user is not None
            else failures_clear_for_user(username)
        )
        self.stdout.write(
            _("%(username)s: unlocked (%(count)d records of failed logins cleared).")
            % {"username": username, "count": cleared}
        )
