"""Admin of code sets: to look at, not to edit. Code sets change by loading files
(`renfang codes load PATH`), which keeps their versions; an edit here would not."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from renfang.codes.models import Code, CodeSet, HistoricDivision
from renfang.core.admin import ReadOnlyAdminMixin

# A longer set (division: ~3,000 counties) is shown through the code list, not inline.
INLINE_LIMIT = 300
_CODE_FIELDS = (
    "code",
    "name",
    "name_en",
    "sensitive",
    "active",
    "sort_order",
    "since_version",
    "until_version",
)


class CodeInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = Code
    fields = _CODE_FIELDS
    readonly_fields = _CODE_FIELDS
    extra = 0
    can_delete = False


@admin.register(CodeSet)
class CodeSetAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["key", "name", "name_en", "standard", "version", "loaded_at", "code_list"]
    search_fields = ["key", "name", "name_en"]
    readonly_fields = ("key", "name", "name_en", "standard", "version", "loaded_at", "code_list")
    fields = readonly_fields

    @admin.display(description=_("codes"))
    def code_list(self, obj: CodeSet) -> SafeString:
        url = reverse("admin:codes_code_changelist") + f"?code_set__key__exact={obj.key}"
        return format_html('<a href="{}">{}</a>', url, _("list of codes"))

    def get_inlines(
        self, request: HttpRequest, obj: CodeSet | None
    ) -> list[type[admin.options.InlineModelAdmin[Any, Any]]]:
        if obj is not None and obj.codes.count() <= INLINE_LIMIT:
            return [CodeInline]
        return []


@admin.register(Code)
class CodeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "name_en", "code_set", "sensitive", "active", "since_version"]
    list_filter = ["code_set", "active", "sensitive"]
    search_fields = ["code", "name", "name_en"]
    readonly_fields = ("code_set", *_CODE_FIELDS)
    fields = readonly_fields
    list_select_related = ["code_set"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Code]:
        return super().get_queryset(request).select_related("code_set")


@admin.register(HistoricDivision)
class HistoricDivisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Codes of earlier GB/T 2260 revisions (ADR 0026): loaded by `renfang codes load`."""

    list_display = ["code", "full_name", "first_seen", "last_seen", "gone_in", "successor"]
    search_fields = ["code", "name", "full_name", "successor"]
    readonly_fields = (
        "code",
        "name",
        "full_name",
        "first_seen",
        "last_seen",
        "gone_in",
        "successor",
    )
    fields = readonly_fields
