"""The API of code sets: reference data (GB/T and local code lists), for any user."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.params import P, PathEx

from renfang.codes.models import Code, CodeSet
from renfang.core.api.errors import error_responses, not_found

router = Router(tags=["codes"])


class CodeSetOut(Schema):
    key: str
    name: str
    name_en: str
    standard: str = Field(description="The standard it follows (GB/T …), empty for local sets.")
    version: int


class CodeOut(Schema):
    code: str
    name: str
    name_en: str
    sensitive: bool = Field(description="Tags only: shown only to roles entitled to them.")
    active: bool = Field(description="Whether new records may use it (closed codes stay).")
    sort_order: int


class CodeSetDetailOut(CodeSetOut):
    codes: list[CodeOut]


def _code_set(code_set: CodeSet) -> CodeSetOut:
    return CodeSetOut(
        key=code_set.key,
        name=code_set.name,
        name_en=code_set.name_en,
        standard=code_set.standard,
        version=code_set.version,
    )


@router.get(
    "",
    operation_id="code_sets_list",
    summary="Code sets",
    response={200: list[CodeSetOut], **error_responses(401)},
)
def code_sets_list(request: HttpRequest) -> list[CodeSetOut]:
    """Every code set, by key."""
    return [_code_set(s) for s in CodeSet.objects.order_by("key")]


@router.get(
    "/{code_set}",
    operation_id="code_set_get",
    summary="One code set and its codes",
    response={200: CodeSetDetailOut, **error_responses(401, 404, 422)},
)
def code_set_get(
    request: HttpRequest,
    code_set: PathEx[str, P(pattern=r"^[-a-zA-Z0-9_]{1,40}$", description="The set's key.")],
) -> CodeSetDetailOut:
    """A code set with every code, closed ones included, in the set's order."""
    found = CodeSet.objects.filter(key=code_set).first()
    if found is None:
        raise not_found()
    codes = Code.objects.filter(code_set=found).order_by("sort_order", "code")
    return CodeSetDetailOut(
        **_code_set(found).model_dump(),
        codes=[
            CodeOut(
                code=c.code,
                name=c.name,
                name_en=c.name_en,
                sensitive=c.sensitive,
                active=c.active,
                sort_order=c.sort_order,
            )
            for c in codes
        ],
    )
