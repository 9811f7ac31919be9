"""The powers of roles.toml that open records of their own: sources and unmapped codes
(``manages_sources``), the review queue, merge and split (``resolves_identities``), conflicts
(``settles_conflicts``), the exchange's subscriptions and webhooks (``administers_users``).

One check for pages and API alike. A caller without the power is audited as denied and
refused with ``PowerLacking``: a page answers it as "not found" (the page does not exist for
them, as the audit log does not for non-auditors), the API as 403 ``permission_denied``
(``renfang.core.api.errors``). Records outside the caller's area stay "not found" everywhere."""

from __future__ import annotations

from django.http import Http404

from renfang.accounts.access import Access, User, access_for
from renfang.audit.models import Action
from renfang.audit.services import audit_record

POWERS = frozenset(
    {"manages_sources", "resolves_identities", "settles_conflicts", "administers_users"}
)


class PowerLacking(Http404):
    """The caller's roles lack the power. An ``Http404``, so that a page answers "not found"
    with no handler of its own; the API's handler answers 403."""

    def __init__(self, power: str) -> None:
        super().__init__(power)
        self.power = power


def access_with_power(
    user: User, power: str, *, operation: str | None = None, path: str = ""
) -> Access:
    """The caller's access if their roles hold ``power``; otherwise ``PowerLacking``, audited
    as denied: on the API ``operation`` (an API call names it), else on the page at ``path``."""
    if power not in POWERS:
        raise ValueError(power)
    access = access_for(user)
    if getattr(access, power):
        return access
    reason = f"role lacks {power}"
    if operation is not None:
        audit_record(
            Action.DENIED,
            user=user,
            record_type="api",
            record_id=operation,
            detail={"reason": reason},
        )
    else:
        audit_record(
            Action.DENIED,
            user=user,
            record_type="page",
            detail={"reason": reason, "path": path[:200]},
        )
    raise PowerLacking(power)
