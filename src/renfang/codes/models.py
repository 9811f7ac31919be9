"""Code sets (代码集): standard (GB/T …) and local option lists, kept as versioned data."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CodeSet(models.Model):
    key = models.SlugField(_("key"), max_length=40, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    standard = models.CharField(_("standard"), max_length=60, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now=True)

    class Meta:
        verbose_name = _("code set")
        verbose_name_plural = _("code sets")
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Code(models.Model):
    """One option of a code set. A code that leaves the set is closed (``active=False`` from the
    version that dropped it), never deleted: old records keep their meaning."""

    code_set = models.ForeignKey(
        CodeSet, verbose_name=_("code set"), on_delete=models.CASCADE, related_name="codes"
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    sensitive = models.BooleanField(_("sensitive"), default=False)
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    since_version = models.PositiveIntegerField(_("since version"), default=1)
    until_version = models.PositiveIntegerField(_("until version"), null=True, blank=True)

    class Meta:
        verbose_name = _("code")
        verbose_name_plural = _("codes")
        ordering = ["code_set", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["code_set", "code"], name="codes_code_unique_in_set")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class HistoricDivision(models.Model):
    """A county-level code of an earlier revision of GB/T 2260 that is not a division today
    (南市区 310102, 1980–2000; 嘉定县 310222, re-coded 310114 in 1992). ID numbers and old
    department systems carry such codes for decades, so they stay known: their last name, the
    revisions that listed them and, where the revisions show one, the division of today that
    carries them on. Loaded from ``areas/data/division_history.csv`` (ADR 0026)."""

    code = models.CharField(_("division code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    full_name = models.CharField(_("full name"), max_length=100)
    first_seen = models.CharField(_("first revision"), max_length=6)  # YYYYMM, or YYYY
    last_seen = models.CharField(_("last revision"), max_length=6)
    gone_in = models.CharField(_("first revision without it"), max_length=6)
    successor = models.CharField(_("successor"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("historic division code")
        verbose_name_plural = _("historic division codes")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name} ({self.first_seen[:4]}–{self.gone_in[:4]})"
