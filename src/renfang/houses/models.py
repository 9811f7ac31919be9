"""Actual housing (实有房屋): every dwelling or place where people can stay."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from renfang.core.models import TimeValidFact


class House(models.Model):
    house_code = models.CharField(_("house code"), max_length=32, unique=True)  # 房屋编码
    area = models.ForeignKey(
        "areas.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="houses"
    )
    road = models.CharField(_("road"), max_length=100)  # 路/街/巷
    number = models.CharField(_("number"), max_length=30, blank=True)  # 号/弄
    building = models.CharField(_("building"), max_length=30, blank=True)  # 幢/号楼
    unit = models.CharField(_("unit"), max_length=30, blank=True)  # 单元
    room = models.CharField(_("room"), max_length=30, blank=True)  # 室
    address = models.CharField(_("standard address"), max_length=300, db_index=True)
    kind = models.CharField(_("kind"), max_length=20)  # code set house_kind
    floor_area = models.DecimalField(
        _("floor area (m²)"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    rooms = models.PositiveSmallIntegerField(_("rooms"), null=True, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("house")
        verbose_name_plural = _("houses")
        ordering = ["house_code"]

    def __str__(self) -> str:
        return f"{self.address} [{self.house_code}]"


def standard_address(road: str, number: str, building: str, unit: str, room: str) -> str:
    """The standard address written the way Shanghai writes it: 路 + 号 + 幢 + 单元 + 室."""
    parts = [road]
    if number:
        parts.append(number if number[-1] in "号弄" else f"{number}号")
    if building:
        parts.append(building if building[-1] in "幢栋楼" else f"{building}幢")
    if unit:
        parts.append(unit if unit.endswith("单元") else f"{unit}单元")
    if room:
        parts.append(room if room[-1] in "室" else f"{room}室")
    return "".join(parts)


class HouseUse(TimeValidFact):
    """What a house is used for over time: owner-occupied, rented, group rental, vacant …"""

    house = models.ForeignKey(
        House, verbose_name=_("house"), on_delete=models.CASCADE, related_name="uses"
    )
    use = models.CharField(_("use"), max_length=20)  # code set house_use

    class Meta:
        verbose_name = _("house use")
        verbose_name_plural = _("house uses")
        ordering = ["house", "valid_from"]
