"""Forms: the second-factor code, and the user admin's checks (the same rules as the
services, so the admin shows a message instead of failing on save)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from renfang.accounts.models import PoliceArea, RoleGrant
from renfang.accounts.services import (
    BEYOND_LABELS,
    Actor,
    grantable_fields,
    police_area_widening_beyond,
    role_grant_check,
    role_grant_refusal,
    separation_of_duties_check,
)
from renfang.areas.models import Area, AreaLevel


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "pattern": "[0-9 ]*",
            }
        ),
    )

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).replace(" ", "")
        if not code.isdigit():
            raise ValidationError(_("The code is the 6 digits your app shows."), code="digits")
        return code


class FieldListField(forms.CharField):
    """A department reader's fields, one per line or separated by commas."""

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        text = str(value or "")
        return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return str(value or "")


class RoleGrantForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = RoleGrant
        fields = ("role", "area", "police_area", "fields")  # noqa: RUF012

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = Area.objects.exclude(level=AreaLevel.CITY)  # type: ignore[attr-defined]
        self.fields["fields"] = FieldListField(
            label=_("granted fields"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
            help_text=_("Department readers only, separated by commas. Possible: %(fields)s.")
            % {"fields": ", ".join(sorted(grantable_fields()))},
        )


class RoleGrantFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Checks each grant, and the user's roles together (separation of duties), as they
    will stand after the save; and who may grant or revoke them (``actor``, ADR 0020), so
    that every refusal is a message on the form."""

    def __init__(self, *args: Any, actor: Actor = None, **kwargs: Any) -> None:
        self.actor = actor
        super().__init__(*args, **kwargs)

    def _refusal(self, form: forms.BaseForm, role: str, *, revoking: bool = False) -> None:
        if self.actor is None:
            return
        try:
            role_grant_refusal(actor=self.actor, user=self.instance, role=role, revoking=revoking)
        except ValidationError as error:
            form.add_error(None, error)

    def clean(self) -> None:  # noqa: C901 (one pass over the forms)
        super().clean()
        user: AbstractBaseUser = self.instance
        roles: list[str] = []
        seen: set[tuple[object, ...]] = set()
        refusals: list[ValidationError] = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            # What the grant is now (the instance already holds the form's new values).
            stored = str(form.initial.get("role") or "") if form.instance.pk is not None else ""
            if data and self.can_delete and data.get("DELETE"):
                if stored and self.actor is not None:
                    # A form marked for deletion is not validated: the formset says it.
                    try:
                        role_grant_refusal(actor=self.actor, user=user, role=stored, revoking=True)
                    except ValidationError as error:
                        refusals.append(error)
                continue
            if not data:
                continue
            role = str(data.get("role") or "")
            if not role:
                continue
            roles.append(role)
            if form.has_changed():
                self._refusal(form, role)
                if stored and stored != role:
                    self._refusal(form, stored, revoking=True)
            try:
                # The area and the fields of each grant; the roles together are checked below.
                data["fields"] = role_grant_check(
                    user=user,
                    role=role,
                    area=data.get("area"),
                    police_area=data.get("police_area"),
                    fields=data.get("fields") or [],
                    other_roles=(),
                    is_superuser=False,
                )
            except ValidationError as error:
                form.add_error(None, error)
            key = (role, data.get("area"), data.get("police_area"))
            if key in seen:
                form.add_error(None, _("This role is listed twice for the same area."))
            seen.add(key)
        if refusals:
            raise ValidationError(refusals)
        separation_of_duties_check(
            roles=roles,
            is_superuser=bool(getattr(user, "is_superuser", False)),
            username=user.get_username(),
        )


class PoliceAreaForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = PoliceArea
        fields = ("code", "name", "committees")  # noqa: RUF012

    actor: Any = None  # the acting user, set by the admin

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["committees"].queryset = Area.objects.filter(  # type: ignore[attr-defined]
            level=AreaLevel.COMMITTEE
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        committees = cleaned.get("committees")
        if self.actor is not None and committees is not None and self.instance.pk is not None:
            beyond = police_area_widening_beyond(
                self.actor, self.instance, [str(a.pk) for a in committees]
            )
            if beyond:
                raise forms.ValidationError(
                    _(
                        "The officers of this police area would see more than you may grant "
                        "(%(beyond)s). Make a new police area and grant the officers on it: "
                        "the grant waits for the security officer."
                    )
                    % {"beyond": ", ".join(str(BEYOND_LABELS[b]) for b in beyond)}
                )
        return cleaned
