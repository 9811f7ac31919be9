"""Forms of the pages. They check what the user typed; the services behind the views write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from renfang.accounts.models import PersonField, Role
from renfang.exchange.models import EventType
from renfang.exchange.subscriptions import FIELDS
from renfang.people.categories import Category
from renfang.people.selectors import is_real_purpose


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class AreaFiguresForm(forms.Form):
    """The dates of the area page: figures as of one day, optionally compared with another."""

    as_of = forms.DateField(label=_("As of"), required=False, widget=DateInput())
    compare_to = forms.DateField(label=_("Compare to"), required=False, widget=DateInput())


class RevealForm(forms.Form):
    """Show one identifier of a person in full (unmask): which one, and why."""

    field = forms.ChoiceField(
        choices=[("id_number", _("ID number")), ("phone", _("phone"))], widget=forms.HiddenInput
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=300,
        error_messages={"required": _("Say why you need the number in full.")},
    )

    def clean_purpose(self) -> str:
        purpose = str(self.cleaned_data.get("purpose") or "")
        if not is_real_purpose(purpose):
            raise forms.ValidationError(
                _("Say why you need the number in full (%(n)d characters at least).")
                % {"n": settings.RENFANG_PURPOSE_MIN_LENGTH}
            )
        return purpose


# A mapping file is a page of YAML; anything far bigger is not one.
MAPPING_MAX_BYTES = 256 * 1024


class MappingForm(forms.Form):
    """A new version of a source's mapping: typed into the box, or a file uploaded (the file
    wins when both are given)."""

    text = forms.CharField(
        label=_("Mapping (YAML)"),
        required=False,
        max_length=MAPPING_MAX_BYTES,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "mono"}),
    )
    file = forms.FileField(label=_("or upload a file"), required=False)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > MAPPING_MAX_BYTES:
                raise forms.ValidationError(_("The file is too big for a mapping file."))
            try:
                cleaned["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc
        if not str(cleaned.get("text") or "").strip():
            raise forms.ValidationError(_("Type the mapping or choose a file."))
        return cleaned

    def mapping_text(self) -> str:
        return str(self.cleaned_data["text"])


class NoteForm(forms.Form):
    """A reviewer's or a settler's note."""

    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class ReviewDecisionForm(NoteForm):
    """A review pair's decision: "same person" or "keep apart"."""

    decision = forms.ChoiceField(
        choices=[("same", _("Same person")), ("different", _("Keep apart"))],
        error_messages={"required": _("Choose “same person” or “keep apart”.")},
    )


class ConflictSettleForm(forms.Form):
    """Settle a conflict (a note says how) or send it out for a visit."""

    status = forms.ChoiceField(
        choices=[("settled", _("Settled")), ("visit", _("Send for a visit"))],
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("status") == "settled" and not str(cleaned.get("note") or "").strip():
            self.add_error("note", _("Say how it was settled."))
        return cleaned


class MergeForm(forms.Form):
    """Merge another person into this one: their id, and why."""

    other = forms.IntegerField(
        label=_("The other person's number"),
        min_value=1,
        max_value=2**63 - 1,
        error_messages={"required": _("Enter the other person's number.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=300,
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class SplitForm(forms.Form):
    """Move some of a person's source records to a new person, and why."""

    records = forms.TypedMultipleChoiceField(
        label=_("Records"),
        coerce=int,
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick the records that are another person.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        min_length=2,
        max_length=300,
        error_messages={"required": _("Say why the records are another person.")},
    )

    def __init__(self, *args: Any, record_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["records"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = record_choices


CATEGORY_LABELS = {
    Category.REGISTERED: _("registered residents"),
    Category.DOMESTIC_MIGRANT: _("domestic migrants"),
    Category.OVERSEAS: _("overseas people"),
}
SEX_CHOICES = [("", _("both")), ("1", _("men")), ("2", _("women"))]


class SubscriptionForm(forms.Form):
    """What the administrator types; the service checks it against the subscriber's grant."""

    subscriber = forms.ModelChoiceField(
        label=_("Subscriber"),
        queryset=get_user_model().objects.none(),
        empty_label=None,
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every type."),
    )
    areas = forms.CharField(
        label=_("Areas"),
        required=False,
        max_length=500,
        help_text=_("Division codes separated by spaces; empty: the subscriber's whole grant."),
    )
    # "fields" would hide the form's own field list: the form calls it person_fields.
    person_fields = forms.MultipleChoiceField(
        label=_("Fields"),
        choices=PersonField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every field the subscriber is granted."),
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=SEX_CHOICES, required=False)
    age_min = forms.IntegerField(label=_("From age"), required=False)
    age_max = forms.IntegerField(label=_("To age"), required=False)
    categories = forms.MultipleChoiceField(
        label=_("Categories"),
        choices=list(CATEGORY_LABELS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: everyone."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        readers = (
            get_user_model()
            .objects.filter(is_active=True, role_grants__role=Role.DEPARTMENT_READER)
            .distinct()
            .order_by("username")
        )
        self.fields["subscriber"].queryset = readers  # type: ignore[attr-defined]

    @staticmethod
    def form_field(name: str) -> str:
        """The form's name for a subscription's field (the service names its errors so)."""
        return "person_fields" if name == "fields" else name

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["areas"] = str(data.get("areas") or "").replace(",", " ").split()
        return {name: data.get(self.form_field(name)) for name in FIELDS}
