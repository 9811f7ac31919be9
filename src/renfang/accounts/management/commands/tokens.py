"""``renfang tokens create USERNAME --name NAME [--expires-days N]``, ``renfang tokens list
[USERNAME]``, ``renfang tokens revoke PREFIX``: API tokens for department systems."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renfang.accounts.tokens import (
    TokenError,
    api_token_create,
    api_token_list,
    api_token_revoke,
    token_state,
)

STATE_LABELS = {
    "active": gettext_lazy("active"),
    "revoked": gettext_lazy("revoked"),
    "expired": gettext_lazy("expired"),
}
# A token that never expires is allowed, but a typo of 36500 days should not be.
MAX_EXPIRES_DAYS = 3660


def _positive_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise CommandError(
            _("--expires-days %(text)r is not a whole number of days") % {"text": text}
        ) from None
    if not 1 <= days <= MAX_EXPIRES_DAYS:
        raise CommandError(
            _("--expires-days must lie between 1 and %(max)d") % {"max": MAX_EXPIRES_DAYS}
        )
    return days


class Command(BaseCommand):
    help = str(gettext_lazy("Create, list and revoke API tokens (Authorization: Bearer <key>)."))

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser(
            "create",
            help=str(gettext_lazy("make a token for a user; the key is shown once")),
        )
        create.add_argument("username")
        create.add_argument(
            "--name", required=True, help=str(gettext_lazy("which system or person uses it"))
        )
        create.add_argument(
            "--expires-days",
            help=str(gettext_lazy("the token stops working after this many days")),
        )
        listing = actions.add_parser("list", help=str(gettext_lazy("list tokens")))
        listing.add_argument("username", nargs="?")
        revoke = actions.add_parser("revoke", help=str(gettext_lazy("revoke a token")))
        revoke.add_argument("prefix", help=str(gettext_lazy("the token's prefix, as listed")))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            self._list(options["username"])
        else:
            self._revoke(options["prefix"])

    def _user(self, username: str) -> Any:
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(
                _("no user is called %(username)r") % {"username": username}
            ) from None

    def _create(self, options: dict[str, Any]) -> None:
        user = self._user(options["username"])
        if not user.is_active:
            raise CommandError(
                _("user %(username)r is inactive: a token would not work")
                % {"username": user.get_username()}
            )
        expires_at = None
        if options["expires_days"] is not None:
            days = _positive_days(options["expires_days"])
            expires_at = timezone.now() + datetime.timedelta(days=days)
        try:
            created = api_token_create(user=user, name=options["name"], expires_at=expires_at)
        except TokenError as exc:
            raise CommandError(str(exc)) from exc
        token = created.token
        self.stdout.write(
            _("Token %(prefix)s (%(name)s) for %(username)s, expires %(expires)s.")
            % {
                "prefix": token.prefix,
                "name": token.name,
                "username": user.get_username(),
                "expires": _format_time(token.expires_at) or _("never"),
            }
        )
        self.stdout.write(_("The key, shown this once (keep it secret):"))
        self.stdout.write(created.key)

    def _list(self, username: str | None) -> None:
        if username is not None:
            self._user(username)
        tokens = api_token_list(username=username)
        if not tokens:
            self.stdout.write(_("No tokens."))
            return
        header = [_("prefix"), _("user"), _("name"), _("state"), _("created"), _("expires")]
        header.append(_("last used"))
        rows = [
            [
                token.prefix,
                token.user.get_username(),
                token.name,
                str(STATE_LABELS[token_state(token)]),
                _format_time(token.created_at),
                _format_time(token.expires_at) or "-",
                _format_time(token.last_used_at) or "-",
            ]
            for token in tokens
        ]
        for row in [header, *rows]:
            self.stdout.write("\t".join(row))

    def _revoke(self, prefix: str) -> None:
        try:
            token = api_token_revoke(prefix=prefix)
        except TokenError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("Revoked token %(prefix)s (%(name)s) of %(username)s.")
            % {"prefix": token.prefix, "name": token.name, "username": token.user.get_username()}
        )


def _format_time(value: datetime.datetime | None) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""
