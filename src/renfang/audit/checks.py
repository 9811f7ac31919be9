"""Startup check: audit events are kept at least 183 days (Cybersecurity Law, art. 21)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

MINIMUM_RETENTION_DAYS = 183


@register()
def check_retention(**kwargs: Any) -> list[Error]:
    days = settings.RENFANG_AUDIT_RETENTION_DAYS
    if not isinstance(days, int) or days < MINIMUM_RETENTION_DAYS:
        return [
            Error(
                f"RENFANG_AUDIT_RETENTION_DAYS is {days!r}; the law asks for at least "
                f"{MINIMUM_RETENTION_DAYS} days of audit events",
                id="audit.E001",
            )
        ]
    return []


@register()
def check_audit_key(**kwargs: Any) -> list[Error]:
    """In production the audit key is a file the operator provides (ADR 0019)."""
    from renfang.audit.keys import audit_key  # noqa: PLC0415

    if settings.PRODUCTION and not settings.RENFANG_AUDIT_KEY_FILE:
        return [
            Error(
                "RENFANG_AUDIT_KEY_FILE is not set: in production the audit chain's key must "
                "be a file the database does not hold",
                hint="generate one (e.g. `openssl rand -hex 32 > audit.key`, mode 0400) and "
                "set RENFANG_AUDIT_KEY_FILE to its path",
                id="audit.E002",
            )
        ]
    if settings.RENFANG_AUDIT_KEY_FILE:
        try:
            audit_key()
        except ImproperlyConfigured as error:
            return [Error(str(error), id="audit.E003")]
    return []


@register(deploy=True)
def check_anchor_file(**kwargs: Any) -> list[CheckMessage]:
    """In production anchors go to a file the database's owners cannot rewrite (ADR 0019): a
    log deleted whole, or rolled back to an older copy, is caught only by an earlier anchor."""
    if settings.PRODUCTION and not settings.RENFANG_AUDIT_ANCHOR_FILE:
        return [
            Warning(
                "RENFANG_AUDIT_ANCHOR_FILE is not set: without anchors kept outside the "
                "database, a deleted or rolled-back audit log cannot be told from a new one",
                hint="set it to a file on another host or write-once storage, and run "
                "`renfang audit anchor` from cron",
                id="audit.W001",
            )
        ]
    return []
