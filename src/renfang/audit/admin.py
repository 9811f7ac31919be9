"""The audit log in the admin: read-only for everyone (no add, change or delete, not even for
a superuser), and visible only to roles that read the audit log. Roles that administer users
never do (separation of duties), so nobody can both manage accounts and touch their trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from renfang.accounts.access import access_for
from renfang.audit.models import AuditEvent


def reads_audit(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and access_for(user).reads_audit)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "id",
        "at",
        "username",
        "ip",
        "channel",
        "action",
        "record_type",
        "record_id",
        "purpose",
    )
    # Filters by fixed choices only: a filter over a free column (record type) or a date
    # hierarchy would scan the whole log for its options. Searching the log by user, record,
    # date and action is the audit pages' job (/audit/); this is the raw view.
    list_filter = ("action", "channel")
    search_fields = ("=username", "=record_id")
    list_per_page = 50
    show_full_result_count = False
    actions = None
    fields = (
        "id",
        "at",
        "user_id",
        "username",
        "ip",
        "channel",
        "action",
        "record_type",
        "record_id",
        "detail",
        "purpose",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return reads_audit(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return reads_audit(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
