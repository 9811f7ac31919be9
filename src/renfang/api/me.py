"""GET /api/me: who the API takes you for, and what your roles let you see."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema

from renfang.accounts.access import access_for
from renfang.core.api.auth import acting_user
from renfang.core.api.errors import error_responses

router = Router(tags=["me"])


class MeOut(Schema):
    username: str
    roles: list[str]
    areas: list[str] = Field(description="Division code prefixes of the areas you may see.")
    fields: list[str] = Field(description="The parts of people's records you may see.")
    full_identifiers: bool = Field(description="Whether you see ID and phone numbers whole.")
    may_unmask: bool = Field(description="Whether you may show one in full, with a purpose.")
    sensitive_tags: list[str]
    powers: list[str] = Field(
        description="What else your roles let you do: manages_sources, resolves_identities, "
        "settles_conflicts."
    )


@router.get(
    "",
    operation_id="me_get",
    summary="Who you are",
    response={200: MeOut, **error_responses(401)},
)
def me_get(request: HttpRequest) -> MeOut:
    """The user the token or session belongs to, and what the roles let them see."""
    user = acting_user(request)
    access = access_for(user)
    return MeOut(
        username=user.get_username(),
        roles=sorted(access.roles),
        areas=list(access.prefixes),
        fields=sorted(access.fields),
        full_identifiers=access.full_identifiers,
        may_unmask=access.may_unmask,
        sensitive_tags=sorted(access.sensitive_tags),
        powers=[
            power
            for power in ("manages_sources", "resolves_identities", "settles_conflicts")
            if getattr(access, power)
        ],
    )
