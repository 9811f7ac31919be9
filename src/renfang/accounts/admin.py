"""User administration: users with their roles, police areas, API tokens.

Only district administrators (roles that administer users) and superusers may use it. Every
change goes through ``renfang.accounts.services`` (roles) or is recorded there (user fields,
passwords), so it is checked by the same rules and audited.
"""

from __future__ import annotations

import datetime
from typing import Any

import django_otp.plugins.otp_totp.admin  # noqa: F401 (registered first, to be unregistered)
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.access import access_for
from renfang.accounts.forms import PoliceAreaForm, RoleGrantForm, RoleGrantFormSet
from renfang.accounts.models import ApiToken, GrantRequest, PoliceArea, Role, RoleGrant
from renfang.accounts.services import (
    BEYOND_LABELS,
    grant_request_approve,
    grant_request_refuse,
    may_manage_account,
    police_area_changes_record,
    police_area_snapshot,
    role_grant_propose,
    role_revoke,
    user_changes_record,
    user_password_changed_record,
    user_second_factor_reset,
    user_snapshot,
    user_unlock,
)
from renfang.accounts.tokens import TokenError, api_token_revoke, token_state
from renfang.core.admin import ReadOnlyAdminMixin

User = get_user_model()


def administers_users(request: HttpRequest) -> bool:
    user = request.user
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(getattr(user, "is_superuser", False)) or access_for(user).administers_users


def approves_grants(request: HttpRequest) -> bool:
    """The security officer (ADR 0020)."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and access_for(user).approves_grants)


def sees_users(request: HttpRequest) -> bool:
    """Administrators, and the security officer (who looks after the accounts holding more
    than an administrator may give, and decides the grant requests)."""
    return administers_users(request) or approves_grants(request)


def _validation_text(error: ValidationError) -> str:
    return " ".join(str(m) for m in error.messages)


class UserAdministration:
    """Permissions of the user administration: by role, not by Django model permissions."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return administers_users(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return administers_users(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return administers_users(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return administers_users(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return administers_users(request)


class RoleGrantInline(UserAdministration, admin.TabularInline):  # type: ignore[type-arg]
    """A user's roles. The security officer edits them too (only the auditor and security
    officer roles: the services refuse it the others, with a message on the form)."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_users(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return sees_users(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_users(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_users(request)

    model = RoleGrant
    form = RoleGrantForm
    formset = RoleGrantFormSet
    extra = 0
    fields = ("role", "area", "area_name", "police_area", "fields", "granted_at")
    readonly_fields = ("area_name", "granted_at")
    verbose_name = gettext_lazy("role")
    verbose_name_plural = gettext_lazy("roles")

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "area":
            # Thousands of committees and grids: the code is typed, not picked from a list.
            kwargs["widget"] = forms.TextInput(attrs={"size": 16, "placeholder": "310104003001"})
            field = super().formfield_for_dbfield(db_field, request, **kwargs)
            assert field is not None
            field.error_messages["invalid_choice"] = _("No area has this division code.")
            return field
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("area name"))
    def area_name(self, grant: RoleGrant) -> str:
        return grant.area.name if grant.area_id and grant.area else ""


def _since() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(minutes=settings.RENFANG_LOCKOUT_MINUTES)


class RenfangUserAdmin(UserAdministration, DjangoUserAdmin):  # type: ignore[type-arg]
    inlines = (RoleGrantInline,)
    list_display = (
        "username",
        "first_name",
        "last_name",
        "role_list",
        "has_second_factor",
        "is_locked_out",
        "is_active",
        "last_login",
    )
    list_filter = ("is_active", "role_grants__role")
    actions = ("unlock", "reset_second_factor")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        confirmed = TOTPDevice.objects.filter(user_id=OuterRef("pk"), confirmed=True)
        # Failures count by username, from every address (renfang.accounts.lockout).
        failures = (
            AccessAttempt.objects.filter(username=OuterRef("username"), attempt_time__gte=_since())
            .values("username")
            .annotate(total=Sum("failures_since_start"))
            .values("total")
        )
        users: QuerySet[Any] = super().get_queryset(request)
        annotated: QuerySet[Any] = users.annotate(
            second_factor=Exists(confirmed), failures=Coalesce(Subquery(failures), 0)
        ).prefetch_related("role_grants")
        return annotated

    @admin.display(description=gettext_lazy("roles"))
    def role_list(self, user: Any) -> str:
        return ", ".join(
            f"{Role(g.role).label} {g.area_id or g.police_area_id}" for g in user.role_grants.all()
        )

    @admin.display(description=gettext_lazy("second factor"), boolean=True)
    def has_second_factor(self, user: Any) -> bool:
        return bool(getattr(user, "second_factor", False))

    @admin.display(description=gettext_lazy("locked out"), boolean=True)
    def is_locked_out(self, user: Any) -> bool:
        failures = int(getattr(user, "failures", 0) or 0)
        return bool(settings.AXES_ENABLED) and failures >= settings.AXES_FAILURE_LIMIT

    # --- who may change what -----------------------------------------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return sees_users(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_users(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A district administrator may not take over a superuser's account.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        if administers_users(request):
            return True
        # The security officer: the accounts holding more than an administrator may give.
        if approves_grants(request):
            return obj is None or may_manage_account(request.user, obj)
        return False

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_formset_kwargs(request, obj, inline, prefix)
        if inline.model is RoleGrant:
            kwargs["actor"] = request.user
        return kwargs

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The forms check the grant rules and show them on the form; should a rule still
        # refuse on save (a race with another administrator), nothing is saved (the view is
        # one transaction) and the page says why, instead of a server error.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            self.message_user(request, _validation_text(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The audit log names users: deactivate an account instead of deleting it.
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None and not may_manage_account(request.user, obj):
            # A user holding (or waiting for) more than this administrator may give: its
            # password, second factor and active flag are the security officer's (ADR 0020).
            return (
                "username",
                "first_name",
                "last_name",
                "email",
                "is_active",
                "is_staff",
                "is_superuser",
                "last_login",
                "date_joined",
            )
        if request.user.is_superuser:
            return ("last_login", "date_joined")
        # Staff status follows the roles; superusers are made only by superusers.
        return ("is_staff", "is_superuser", "last_login", "date_joined")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        # Access comes from roles; Django's groups and permissions are for superusers.
        return [
            (
                name,
                {
                    **options,
                    "fields": tuple(
                        f for f in options["fields"] if f not in ("groups", "user_permissions")
                    ),
                },
            )
            for name, options in fieldsets
        ]

    # --- audited saves -----------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = None
        if change:
            stored = User._default_manager.filter(pk=obj.pk).first()
            before = user_snapshot(stored) if stored is not None else None
        super().save_model(request, obj, form, change)
        user_changes_record(user=obj, before=before, changed_by=request.user)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not RoleGrant:
            super().save_formset(request, form, formset, change)
            return
        _role_formset_save(request, form.instance, formset)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:  # noqa: A002 (Django's name)
        target = User._default_manager.filter(pk=id).first()
        if target is not None and not may_manage_account(request.user, target):
            raise PermissionDenied
        stored = User._default_manager.filter(pk=id).values_list("password", flat=True).first()
        response = super().user_change_password(request, id, form_url)
        user = User._default_manager.filter(pk=id).first()
        if user is not None and stored is not None and user.password != stored:
            user_password_changed_record(user=user, changed_by=request.user)
        return response

    # --- actions -----------------------------------------------------------------------

    @admin.action(description=gettext_lazy("Unlock (forget failed logins)"))
    def unlock(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        unlocked = sum(
            1 for user in queryset if user_unlock(user=user, unlocked_by=request.user) > 0
        )
        self.message_user(
            request,
            ngettext("%(count)d user unlocked.", "%(count)d users unlocked.", unlocked)
            % {"count": unlocked},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Reset the second factor (a lost phone)"))
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        reset = 0
        refused = 0
        for user in queryset:
            if not may_manage_account(request.user, user):
                refused += 1
                continue
            reset += bool(user_second_factor_reset(user=user, reset_by=request.user))
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)d user holds more than you may grant: their security officer "
                    "resets it.",
                    "%(count)d users hold more than you may grant: their security officer "
                    "resets it.",
                    refused,
                )
                % {"count": refused},
                messages.WARNING,
            )
        self.message_user(
            request,
            ngettext(
                "%(count)d user sets up a new second factor at the next login.",
                "%(count)d users set up a new second factor at the next login.",
                reset,
            )
            % {"count": reset},
            messages.SUCCESS,
        )


def _role_formset_save(request: HttpRequest, user: Any, formset: BaseInlineFormSet) -> None:  # type: ignore[type-arg]
    """Save the roles of the inline through the services (checked and audited): removals
    first, so that a role can be swapped for another in one save."""
    actor = request.user
    deleted = [f for f in formset.deleted_forms if f.instance.pk is not None]
    new_objects: list[RoleGrant] = []
    changed_objects: list[tuple[RoleGrant, list[str]]] = []
    for form in deleted:
        role_revoke(grant=RoleGrant.objects.get(pk=form.instance.pk), revoked_by=actor)
    requested: list[GrantRequest] = []
    for form in formset.forms:
        if form in formset.deleted_forms or not form.has_changed():
            continue
        data = form.cleaned_data
        if not data or not data.get("role"):
            continue
        values = {
            "role": data["role"],
            "area": data.get("area"),
            "police_area": data.get("police_area"),
            "fields": data.get("fields") or [],
        }
        replaces = (
            RoleGrant.objects.get(pk=form.instance.pk) if form.instance.pk is not None else None
        )
        done = role_grant_propose(user=user, requested_by=actor, replaces=replaces, **values)
        if isinstance(done, GrantRequest):
            requested.append(done)
        elif replaces is not None:
            changed_objects.append((done, list(form.changed_data)))
        else:
            new_objects.append(done)
    for pending in requested:
        messages.warning(
            request,
            _(
                "The role “%(role)s” for %(user)s waits for a security officer's approval "
                "(request %(id)s: %(why)s); until then it has no effect."
            )
            % {
                "role": Role(pending.role).label,
                "user": user.get_username(),
                "id": pending.pk,
                "why": "; ".join(str(BEYOND_LABELS[b]) for b in pending.reasons),
            },
        )
    # What Django's admin reads to write its own change message.
    formset.new_objects = new_objects
    formset.changed_objects = changed_objects
    formset.deleted_objects = [f.instance for f in deleted]


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, RenfangUserAdmin)

# Devices are set up by their users and reset through the user admin (both audited); the
# plugin's own admin would let their keys be edited without a trace.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(PoliceArea)
class PoliceAreaAdmin(UserAdministration, admin.ModelAdmin):  # type: ignore[type-arg]
    form = PoliceAreaForm
    list_display = ("code", "name", "committee_count")
    search_fields = ("code", "name")
    filter_horizontal = ("committees",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        # Widening a police area is granting its officers more: the form checks the actor.
        form.actor = request.user  # type: ignore[attr-defined]
        return form

    @admin.display(description=gettext_lazy("committees"))
    def committee_count(self, police_area: PoliceArea) -> int:
        return police_area.committees.count()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Roles refer to police areas, and the audit log to their codes.
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        stored = PoliceArea.objects.filter(pk=obj.pk).first() if change else None
        obj._audit_before = police_area_snapshot(stored) if stored is not None else None
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        police_area_changes_record(
            police_area=form.instance,
            before=getattr(form.instance, "_audit_before", None),
            changed_by=request.user,
        )


@admin.register(ApiToken)
class ApiTokenAdmin(UserAdministration, admin.ModelAdmin):  # type: ignore[type-arg]
    """Tokens are made with ``renfang tokens create`` (the key is shown once, there); here
    they are listed and revoked."""

    list_display = ("prefix", "name", "user", "state", "created_at", "expires_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username")
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    fields = readonly_fields
    actions = ("revoke",)

    @admin.display(description=gettext_lazy("state"))
    def state(self, token: ApiToken) -> str:
        labels = {
            "active": _("active"),
            "revoked": _("revoked"),
            "expired": _("expired"),
        }
        state = token_state(token)
        return labels.get(state, state)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Django offers actions only to those who may change; revoking is the one change here.
        actions = super().get_actions(request)
        return actions if administers_users(request) else {}

    @admin.action(description=gettext_lazy("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = 0
        for token in queryset:
            try:
                api_token_revoke(prefix=token.prefix, revoked_by=request.user)
            except TokenError as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                revoked += 1
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )


@admin.register(GrantRequest)
class GrantRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Grants waiting for a security officer, and the recent decisions (ADR 0020). Made by
    the user admin's role form; decided here (or with ``renfang grants``); never edited."""

    list_display = (
        "id",
        "user",
        "role",
        "where",
        "field_list",
        "why",
        "requested_by",
        "requested_at",
        "state",
        "decided_by",
        "decided_at",
    )
    list_filter = ("state", "role")
    search_fields = ("user__username", "requested_by__username")
    list_select_related = ("user", "requested_by", "decided_by")
    readonly_fields = (
        "user",
        "role",
        "area",
        "police_area",
        "fields",
        "replaces",
        "why",
        "requested_by",
        "requested_at",
        "state",
        "decided_by",
        "decided_at",
        "note",
    )
    fields = readonly_fields
    actions = ("approve", "refuse")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return sees_users(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_users(request)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        return actions if approves_grants(request) else {}

    @admin.display(description=gettext_lazy("where"))
    def where(self, grant_request: GrantRequest) -> str:
        return str(grant_request.police_area_id or grant_request.area_id or "")

    @admin.display(description=gettext_lazy("granted fields"))
    def field_list(self, grant_request: GrantRequest) -> str:
        return ", ".join(str(f) for f in grant_request.fields or [])

    @admin.display(description=gettext_lazy("why it needs approval"))
    def why(self, grant_request: GrantRequest) -> str:
        return "; ".join(str(BEYOND_LABELS.get(b, b)) for b in grant_request.reasons or [])

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[GrantRequest], approve: bool
    ) -> None:
        done = 0
        for grant_request in queryset:
            try:
                if approve:
                    grant_request_approve(request=grant_request, approved_by=request.user)
                else:
                    grant_request_refuse(request=grant_request, refused_by=request.user)
            except ValidationError as error:
                self.message_user(
                    request, f"#{grant_request.pk}: {_validation_text(error)}", messages.ERROR
                )
            else:
                done += 1
        if approve:
            text = ngettext(
                "%(count)d grant approved. Its user's password was reset: set a new one "
                "(Users, Change password) and hand it over in person.",
                "%(count)d grants approved. Their users' passwords were reset: set new ones "
                "(Users, Change password) and hand them over in person.",
                done,
            )
        else:
            text = ngettext("%(count)d grant refused.", "%(count)d grants refused.", done)
        self.message_user(request, text % {"count": done}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Approve the selected grants"))
    def approve(self, request: HttpRequest, queryset: QuerySet[GrantRequest]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description=gettext_lazy("Refuse the selected grants"))
    def refuse(self, request: HttpRequest, queryset: QuerySet[GrantRequest]) -> None:
        self._decide(request, queryset, approve=False)
