"""Writes to users, roles and police areas (API tokens: ``renfang.accounts.tokens``). Each
is checked here and audited (``Action.ADMIN``, with the field, the old and the new value) in
the same transaction.

The package: ``common`` (the actor, the audit event of a change), ``roles`` (what a grant may
hold), ``granting`` (who may grant what), ``grants`` (grants made, changed, requested, approved,
revoked), ``users`` and ``police_areas`` (their audit records). Callers import from the
package: every name of the former ``accounts/services.py`` is here (ADR 0029).
"""

from renfang.accounts.services.common import (
    TAG_PREFIX,
    USER_FIELDS,
    Actor,
)
from renfang.accounts.services.granting import (
    BEYOND_LABELS,
    GrantingPowers,
    grant_beyond,
    granting_powers,
    is_beyond_administrators,
    may_manage_account,
    police_area_widening_beyond,
)
from renfang.accounts.services.grants import (
    grant_request_approve,
    grant_request_refuse,
    request_description,
    role_grant,
    role_grant_propose,
    role_grant_refusal,
    role_grant_update,
    role_revoke,
)
from renfang.accounts.services.police_areas import (
    police_area_changes_record,
    police_area_snapshot,
)
from renfang.accounts.services.roles import (
    grant_description,
    grantable_fields,
    role_grant_check,
    separation_of_duties_check,
)
from renfang.accounts.services.users import (
    user_changes_record,
    user_password_changed_record,
    user_second_factor_confirm,
    user_second_factor_reset,
    user_snapshot,
    user_unlock,
)

__all__ = [
    "Actor",
    "BEYOND_LABELS",
    "GrantingPowers",
    "TAG_PREFIX",
    "USER_FIELDS",
    "grant_beyond",
    "grant_description",
    "grant_request_approve",
    "grant_request_refuse",
    "grantable_fields",
    "granting_powers",
    "is_beyond_administrators",
    "may_manage_account",
    "police_area_changes_record",
    "police_area_snapshot",
    "police_area_widening_beyond",
    "request_description",
    "role_grant",
    "role_grant_check",
    "role_grant_propose",
    "role_grant_refusal",
    "role_grant_update",
    "role_revoke",
    "separation_of_duties_check",
    "user_changes_record",
    "user_password_changed_record",
    "user_second_factor_confirm",
    "user_second_factor_reset",
    "user_snapshot",
    "user_unlock",
]
