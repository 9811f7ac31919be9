"""Admin of areas. An area added or changed here is checked by the same rules as a division
file (`renfang areas load`); areas are never deleted here, since records refer to them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest

from renfang.areas.models import Area
from renfang.areas.services import AreaRow, check_area_row


class AreaAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Area
        fields = ["code", "name", "parent", "level"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        parent: Area | None = cleaned.get("parent")
        code = cleaned.get("code") or self.instance.code
        if code and cleaned.get("name") and cleaned.get("level"):
            row = AreaRow(0, code, cleaned["name"], parent.code if parent else "", cleaned["level"])
            errors = check_area_row(
                row, settings.RENFANG_CITY_CODE, parent.level if parent else None
            )
            for error in errors:
                field = {"parent_code": "parent"}.get(error.column, error.column)
                self.add_error(field if field in self.fields else None, error.reason)
        return cleaned


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = AreaAdminForm
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]
    list_select_related = ["parent"]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Area | None = None) -> list[str]:
        # The code is the key that records refer to: a changed code is another area.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Area | None = None) -> bool:
        return False
