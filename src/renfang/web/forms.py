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
