"""Parameters that name an area: the area must exist and lie in the user's area, and the two
failures look the same (404 not_found), the second audited as denied."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser

from renfang.accounts.scope import area_get_for_user
from renfang.areas.models import Area
from renfang.core.api.errors import not_found


def area_in_reach(user: AbstractBaseUser, code: str, *, parameter: str | None = None) -> Area:
    """The area ``code`` if the user's area covers it; otherwise an ``ApiError`` 404 (naming
    the query ``parameter`` that gave the code, if one did)."""
    try:
        return area_get_for_user(user, code)
    except Area.DoesNotExist:
        raise not_found(parameter) from None
