"""Admin of houses: to look at. Houses change by loading files (`renfang houses load`) and,
later, through collection, which keep the history of their use."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from renfang.houses.models import House, HouseUse

_USE_FIELDS = ("use", "valid_from", "valid_to", "recorded_at", "retracted_at")
_HOUSE_FIELDS = (
    "house_code",
    "address",
    "area",
    "road",
    "number",
    "building",
    "unit",
    "room",
    "kind",
    "floor_area",
    "rooms",
    "latitude",
    "longitude",
    "created_at",
)


class HouseUseInline(admin.TabularInline):  # type: ignore[type-arg]
    model = HouseUse
    fields = _USE_FIELDS
    readonly_fields = _USE_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(House)
class HouseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["house_code", "address", "area", "kind"]
    search_fields = ["^house_code", "address"]
    list_select_related = ["area"]
    readonly_fields = _HOUSE_FIELDS
    fields = _HOUSE_FIELDS
    inlines = [HouseUseInline]
    show_full_result_count = False  # a count of a million houses on every search is slow

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: House | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: House | None = None) -> bool:
        return False
