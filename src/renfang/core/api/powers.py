"""Operations that need a power of roles.toml (``manages_sources``, ``resolves_identities``,
``settles_conflicts``): a caller without it is refused with 403 ``permission_denied``, audited
as denied. (Records outside the caller's area stay 404 ``not_found``, as everywhere.)"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext as _

from renfang.accounts.access import Access, access_for
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.core.api.errors import ApiError, ErrorCode

# administers_users: subscriptions and webhooks of the exchange, besides users and tokens.
POWERS = frozenset(
    {"manages_sources", "resolves_identities", "settles_conflicts", "administers_users"}
)


def access_with_power(user: AbstractBaseUser, power: str, *, operation: str) -> Access:
    """The caller's access if their roles hold ``power``; otherwise an ``ApiError`` 403."""
    if power not in POWERS:
        raise ValueError(power)
    access = access_for(user)
    if getattr(access, power):
        return access
    audit_record(
        Action.DENIED,
        user=user,
        record_type="api",
        record_id=operation,
        detail={"reason": f"role lacks {power}"},
    )
    raise ApiError(403, ErrorCode.PERMISSION_DENIED, _("Your role may not do this."))
