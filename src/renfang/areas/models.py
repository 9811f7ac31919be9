"""Administrative divisions (行政区划): city → district → street/town → committee → grid."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.TextChoices):
    CITY = "city", _("city")  # 市
    DISTRICT = "district", _("district")  # 区
    STREET = "street", _("street or town")  # 街道/镇
    COMMITTEE = "committee", _("neighbourhood or village committee")  # 居委/村委
    GRID = "grid", _("grid")  # 网格


# Length of the division code at each level; a grid extends its committee's code.
LEVEL_CODE_LENGTH: dict[str, int] = {
    AreaLevel.CITY: 2,
    AreaLevel.DISTRICT: 6,
    AreaLevel.STREET: 9,
    AreaLevel.COMMITTEE: 12,
}
LEVEL_ORDER: list[str] = [
    AreaLevel.CITY,
    AreaLevel.DISTRICT,
    AreaLevel.STREET,
    AreaLevel.COMMITTEE,
    AreaLevel.GRID,
]


def in_city(division_code: str | None) -> bool:
    """Whether a division code (a hukou place, a residence) belongs to the deployment's city."""
    return bool(division_code) and str(division_code).startswith(settings.RENFANG_CITY_CODE)


class Area(models.Model):
    """A division the register counts by. Membership is by code prefix: a residence in
    ``310104003001`` lies in ``310104003`` (street), ``310104`` (district) and ``31`` (city)."""

    code = models.CharField(_("division code"), max_length=20, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    level = models.CharField(_("level"), max_length=10, choices=AreaLevel.choices)

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
