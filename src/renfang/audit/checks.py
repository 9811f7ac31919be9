"""Startup check: audit events are kept at least 183 days (Cybersecurity Law, art. 21)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

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
