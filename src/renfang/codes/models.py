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
