"""``renfang totp``: a user's second factor from the shell (demos, operators)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from renfang.accounts.services import user_second_factor_reset
from renfang.accounts.totp import confirmed_device, current_code


class Command(BaseCommand):
    help = (
        "A user's TOTP second factor, for demos and for operators with shell access to the "
        "server: `totp code USERNAME` prints the code the user's authenticator app shows now; "
        "`totp reset USERNAME` removes the device (a lost phone), audited, so the user sets up "
        "a new one at the next login."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        code = actions.add_parser("code", help="print the current code of the user's device")
        code.add_argument("username")
        reset = actions.add_parser("reset", help="remove the user's device (audited)")
        reset.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["username"]
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(_("No user is called %(username)s.") % {"username": username})
        if options["action"] == "code":
            device = confirmed_device(user)
            if device is None:
                raise CommandError(
                    _("%(username)s has no second factor set up.") % {"username": username}
                )
            self.stdout.write(current_code(device))
            return
        removed = user_second_factor_reset(user=user, reset_by=None)
        if removed:
            self.stdout.write(
                _("Removed the second factor of %(username)s.") % {"username": username}
            )
        else:
            self.stdout.write(_("%(username)s had no second factor.") % {"username": username})
