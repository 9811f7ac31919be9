"""Shared building blocks: facts that are valid over time and never overwritten.

A fact holds from ``valid_from`` to ``valid_to`` (both days inclusive; ``valid_to`` empty: still
holds; ``valid_from`` empty: since a day nobody knows). A fact is never updated in place except
to close its open interval; a correction *retracts* the old row (``retracted_at``) and records a
new one, so every earlier state stays readable through ``all_versions``.
"""

from __future__ import annotations

import datetime
from typing import Any, Self

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def valid_on_q(day: datetime.date, prefix: str = "") -> Q:
    """The condition "valid on ``day``" for a fact reached through ``prefix`` (``"spell__"``)."""
    starts = Q(**{f"{prefix}valid_from__isnull": True}) | Q(**{f"{prefix}valid_from__lte": day})
    ends = Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": day})
    return starts & ends


class FactQuerySet(models.QuerySet[Any]):
    def valid_on(self, day: datetime.date) -> Self:
        return self.filter(valid_on_q(day))

    def current(self) -> Self:
        return self.filter(retracted_at__isnull=True)


class CurrentFactManager(models.Manager[Any]):
    """The default manager of a fact: retracted rows are history, not the register."""

    def get_queryset(self) -> FactQuerySet:
        return FactQuerySet(self.model, using=self._db).filter(retracted_at__isnull=True)


class TimeValidFact(models.Model):
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(
        _("valid to"), null=True, blank=True, help_text=_("last day; empty while it still holds")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    retracted_at = models.DateTimeField(_("retracted at"), null=True, blank=True, editable=False)

    objects = CurrentFactManager()
    all_versions = models.Manager()  # noqa: DJ012 (ruff takes a Manager for a field)

    class Meta:
        abstract = True

    def is_valid_on(self, day: datetime.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )
