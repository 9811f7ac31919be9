"""Areas as one user may see them: the figures of an area are aggregates of personal data,
so an area outside the user's own is "not found", like a missing one (and audited). Pages
(``renfang.web``) and the API (``renfang.core.api.scope``) both ask here."""

from __future__ import annotations

from renfang.accounts.access import User, access_for
from renfang.areas.models import Area
from renfang.areas.selectors import area_get
from renfang.audit.models import Action
from renfang.audit.services import audit_record


def area_get_for_user(user: User, code: str) -> Area:
    """The area, if it lies in the user's area. Raises ``Area.DoesNotExist`` for an unknown
    area and for one outside (that attempt is audited as denied); the caller audits the read,
    which it knows better (a page or an export, which dates)."""
    area = area_get(code)
    access = access_for(user)
    if not access.covers(area.code):
        audit_record(
            Action.DENIED,
            user=user,
            record_type="area",
            record_id=area.code,
            detail={"reason": "outside the user's area" if access.reads_people else "no role"},
        )
        raise Area.DoesNotExist(code)
    return area
