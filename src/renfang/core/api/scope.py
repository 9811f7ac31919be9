"""Parameters that name an area: the area must exist and lie in the user's area, and the two
failures look the same (404 not_found), the second audited as denied."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser

from renfang.accounts.access import access_for
from renfang.areas.models import Area
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.core.api.errors import not_found


def area_in_reach(user: AbstractBaseUser, code: str, *, parameter: str | None = None) -> Area:
    """The area ``code`` if the user's area covers it; otherwise an ``ApiError`` 404 (naming
    the query ``parameter`` that gave the code, if one did)."""
    area = Area.objects.filter(code=code).first()
    access = access_for(user)
    if area is not None and access.covers(area.code):
        return area
    if area is not None:
        audit_record(
            Action.DENIED,
            user=user,
            record_type="area",
            record_id=area.code,
            detail={"reason": "outside the user's area" if access.reads_people else "no role"},
        )
    raise not_found(parameter)
