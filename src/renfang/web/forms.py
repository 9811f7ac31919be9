"""Forms of the pages (only what the URL carries; nothing here writes)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


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
        min_length=2,
        max_length=300,
        error_messages={
            "required": _("Say why you need the number in full."),
            "min_length": _("Say why you need the number in full, in a few words."),
        },
    )
