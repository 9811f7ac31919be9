"""``renfang grants pending|list|approve ID|refuse ID|grant USERNAME ROLE|revoke USERNAME
ROLE``: the grants waiting for a security officer, decided by an operator with shell access,
and the first security officer and auditor (ADR 0020). Everything here is audited as the
operator's (a command)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renfang.accounts.models import GrantRequest, PoliceArea, Role, RoleGrant
from renfang.accounts.services import (
    grant_request_approve,
    grant_request_refuse,
    role_grant,
    role_revoke,
    user_changes_record,
)
from renfang.areas.models import Area

RECENT = 50


def _error(error: ValidationError) -> CommandError:
    return CommandError(" ".join(str(m) for m in error.messages))


class Command(BaseCommand):
    help = str(
        gettext_lazy(
            "Grants waiting for a security officer: list, approve, refuse; and grant or revoke "
            "a role as the operator (the first security officer and auditor)."
        )
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("pending", help=str(gettext_lazy("grants waiting for approval")))
        listing = actions.add_parser("list", help=str(gettext_lazy("recent grant requests")))
        listing.add_argument(
            "--all", action="store_true", help=str(gettext_lazy("not only the recent"))
        )
        approve = actions.add_parser("approve", help=str(gettext_lazy("approve a request")))
        approve.add_argument("id", type=int)
        refuse = actions.add_parser("refuse", help=str(gettext_lazy("refuse a request")))
        refuse.add_argument("id", type=int)
        refuse.add_argument("--note", default="", help=str(gettext_lazy("why, for the record")))
        for name, text in (
            ("grant", gettext_lazy("give a user a role at once")),
            ("revoke", gettext_lazy("take a role from a user")),
        ):
            sub = actions.add_parser(name, help=str(text))
            sub.add_argument("username")
            sub.add_argument("role", choices=Role.values)
            sub.add_argument("--area", help=str(gettext_lazy("the division code")))
            sub.add_argument("--police-area", help=str(gettext_lazy("the police area's code")))
            if name == "grant":
                sub.add_argument(
                    "--fields", default="", help=str(gettext_lazy("department readers: a,b,c"))
                )
                sub.add_argument(
                    "--create",
                    action="store_true",
                    help=str(
                        gettext_lazy(
                            "create the user (without a password: set one with "
                            "`renfang changepassword USERNAME`)"
                        )
                    ),
                )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action in ("pending", "list"):
            self._list(pending=action == "pending", everything=options.get("all", False))
        elif action == "approve":
            self._approve(options["id"])
        elif action == "refuse":
            self._refuse(options["id"], options["note"])
        elif action == "grant":
            self._grant(options)
        else:
            self._revoke(options)

    # --- requests -------------------------------------------------------------------

    def _request(self, pk: int) -> GrantRequest:
        found = GrantRequest.objects.filter(pk=pk).first()
        if found is None:
            raise CommandError(_("no grant request %(id)s") % {"id": pk})
        return found

    def _list(self, *, pending: bool, everything: bool) -> None:
        requests = GrantRequest.objects.select_related("user", "requested_by", "decided_by")
        if pending:
            requests = requests.filter(state=GrantRequest.State.PENDING)
        rows = list(requests.order_by("-requested_at", "-id")[: None if everything else RECENT])
        if not rows:
            self.stdout.write(_("No grant requests."))
            return
        header = [_("id"), _("user"), _("role"), _("where"), _("fields"), _("beyond")]
        header += [_("requested by"), _("requested at"), _("state"), _("decided by")]
        self.stdout.write("\t".join(header))
        for r in rows:
            cells = [
                str(r.pk),
                r.user.get_username(),
                r.role,
                str(r.police_area_id or r.area_id or ""),
                ",".join(r.fields or []) or "-",
                ",".join(r.reasons or []) or "-",
                r.requested_by.get_username() if r.requested_by else _("(a command)"),
                timezone.localtime(r.requested_at).strftime("%Y-%m-%d %H:%M"),
                r.state,
                r.decided_by.get_username() if r.decided_by else "-",
            ]
            self.stdout.write("\t".join(cells))

    def _approve(self, pk: int) -> None:
        request = self._request(pk)
        try:
            grant_request_approve(request=request, approved_by=None)
        except ValidationError as error:
            raise _error(error) from error
        username = request.user.get_username()
        self.stdout.write(
            _(
                "Approved: %(user)s is now %(role)s. Its password was reset: set a new one "
                "with `renfang changepassword %(user)s` (or the security officer in the admin)."
            )
            % {"user": username, "role": Role(request.role).label}
        )

    def _refuse(self, pk: int, note: str) -> None:
        try:
            grant_request_refuse(request=self._request(pk), refused_by=None, note=note)
        except ValidationError as error:
            raise _error(error) from error
        self.stdout.write(_("Refused request %(id)s.") % {"id": pk})

    # --- grants by the operator --------------------------------------------------------

    def _place(self, options: dict[str, Any]) -> dict[str, Any]:
        place: dict[str, Any] = {"area": None, "police_area": None}
        if options.get("area"):
            place["area"] = Area.objects.filter(code=options["area"]).first()
            if place["area"] is None:
                raise CommandError(_("no area has the code %(code)s") % {"code": options["area"]})
        if options.get("police_area"):
            place["police_area"] = PoliceArea.objects.filter(code=options["police_area"]).first()
            if place["police_area"] is None:
                raise CommandError(
                    _("no police area has the code %(code)s") % {"code": options["police_area"]}
                )
        return place

    def _user(self, username: str, *, create: bool = False) -> Any:
        model = get_user_model()
        user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
        if user is None and create:
            user = model(**{model.USERNAME_FIELD: username})
            user.set_unusable_password()
            user.save()
            user_changes_record(user=user, before=None, changed_by=None)
        if user is None:
            raise CommandError(_("no user is called %(username)r") % {"username": username})
        return user

    def _grant(self, options: dict[str, Any]) -> None:
        fields = [f.strip() for f in options["fields"].split(",") if f.strip()]
        try:
            with transaction.atomic():
                user = self._user(options["username"], create=options["create"])
                role_grant(
                    user=user,
                    role=options["role"],
                    fields=fields,
                    granted_by=None,
                    **self._place(options),
                )
        except ValidationError as error:
            raise _error(error) from error
        self.stdout.write(
            _("%(user)s is now %(role)s.")
            % {"user": user.get_username(), "role": Role(options["role"]).label}
        )
        if not user.has_usable_password():
            self.stdout.write(
                _("Set its password with `renfang changepassword %(user)s`.")
                % {"user": user.get_username()}
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        user = self._user(options["username"])
        place = self._place(options)
        grants = RoleGrant.objects.filter(user_id=user.pk, role=options["role"])
        if place["area"] is not None or place["police_area"] is not None:
            grants = grants.filter(**place)
        found = list(grants)
        if len(found) != 1:
            raise CommandError(
                _("%(count)d matching roles: name the one with --area or --police-area")
                % {"count": len(found)}
            )
        try:
            role_revoke(grant=found[0], revoked_by=None)
        except ValidationError as error:
            raise _error(error) from error
        self.stdout.write(_("Revoked."))
