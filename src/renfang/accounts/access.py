"""The access layer every read of people and houses passes through (分级分权).

``access_for(user)`` sums up a user's roles: the area code prefixes whose people and houses
they may see, and what the role policy lets them see of a person. The selectors of ``people``
and ``houses`` turn the prefixes into queryset filters; pages and the API use the masking
helpers here. A user's roles add up in where they see, not in what they see: the masking,
field and tag rights are the least of the user's reading roles (a right is bound to its role's
area, and a record does not say through which of the user's areas it was reached).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

# The masks live in accounts.masks (ADR 0021); pages and tests take them from here.
from renfang.accounts.masks import mask_id_number as mask_id_number  # noqa: PLC0414
from renfang.accounts.masks import mask_phone as mask_phone  # noqa: PLC0414
from renfang.accounts.models import PersonField, Role, RoleGrant
from renfang.accounts.policy import role_policies

User = AbstractBaseUser | AnonymousUser

ALL_PERSON_FIELDS = frozenset(PersonField.values)
_CACHE_ATTRIBUTE = "_renfang_access"


@dataclass(frozen=True)
class Access:
    """What one user may see. ``prefixes`` are division code prefixes: a committee's code
    covers its grids, a street's its committees (areas nest by code)."""

    user_id: int | None
    roles: frozenset[str]
    prefixes: tuple[str, ...]
    full_identifiers: bool
    may_unmask: bool
    sensitive_tags: frozenset[str]
    fields: frozenset[str]
    reads_audit: bool
    administers_users: bool
    needs_second_factor: bool
    # Powers over the records of sources and persons (the least of the reading roles').
    manages_sources: bool = False
    resolves_identities: bool = False
    settles_conflicts: bool = False
    # The security officer's power (ADR 0020): approves grants, grants the auditor role.
    approves_grants: bool = False

    @property
    def reads_people(self) -> bool:
        return bool(self.prefixes)

    def covers(self, division_code: str | None) -> bool:
        """Whether a division (a residence's, a hukou's, a house's area) lies in the area."""
        return bool(division_code) and any(
            str(division_code).startswith(prefix) for prefix in self.prefixes
        )

    def sees_field(self, field: str) -> bool:
        return field in self.fields

    def sees_tag(self, tag: str, *, sensitive: bool) -> bool:
        if not self.sees_field(PersonField.TAGS):
            return False
        return not sensitive or tag in self.sensitive_tags


def in_areas_q(prefixes: Iterable[str], *fields: str) -> Q:
    """The one place where areas (division code prefixes: a user's, a grant's, a
    subscription's) become a queryset filter: one of ``fields`` (division codes) lies in one
    of the areas. No areas: nothing."""
    where = Q(pk__in=[])
    for prefix in prefixes:
        for field in fields:
            where |= Q(**{f"{field}__startswith": prefix})
    return where


NO_ACCESS = Access(
    user_id=None,
    roles=frozenset(),
    prefixes=(),
    full_identifiers=False,
    may_unmask=False,
    sensitive_tags=frozenset(),
    fields=frozenset(),
    reads_audit=False,
    administers_users=False,
    needs_second_factor=False,
)


def _grant_prefixes(grant: RoleGrant) -> list[str]:
    if grant.police_area_id is not None:
        return list(grant.police_area.committees.values_list("code", flat=True))  # type: ignore[union-attr]
    return [grant.area_id] if grant.area_id else []


def access_for(user: User) -> Access:
    """The user's access, computed once per request (kept on the user object)."""
    if not user.is_authenticated or not user.is_active:
        return NO_ACCESS
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if isinstance(cached, Access):
        return cached
    policies = role_policies()
    grants = list(RoleGrant.objects.filter(user_id=user.pk).select_related("police_area"))
    prefixes: set[str] = set()
    # Powers over what a user sees are the least of their reading roles': a power is bound to
    # its role's area, and a record cannot say which of the user's areas it was reached by.
    fields: set[str] | None = None
    tags: set[str] | None = None
    full_identifiers: bool | None = None
    may_unmask: bool | None = None
    powers: dict[str, bool] | None = None
    flags = dict.fromkeys(
        ("reads_audit", "administers_users", "needs_2fa", "approves_grants"), False
    )
    for grant in grants:
        policy = policies[grant.role]
        flags["reads_audit"] |= policy.reads_audit
        flags["administers_users"] |= policy.administers_users
        flags["needs_2fa"] |= policy.needs_second_factor
        flags["approves_grants"] |= policy.approves_grants
        if not policy.reads_people:
            continue
        prefixes.update(_grant_prefixes(grant))
        grant_full = policy.full_identifiers
        if grant.role == Role.DEPARTMENT_READER:
            granted = {str(f) for f in grant.fields or []}
            grant_fields = granted & ALL_PERSON_FIELDS
            grant_tags = {f.removeprefix("tag:") for f in granted if f.startswith("tag:")}
            grant_tags &= set(policy.sensitive_tags)
            # A department granted an identifier receives it whole: it matches records.
            grant_full = bool(grant_fields & {PersonField.ID_NUMBER, PersonField.PHONE})
        else:
            grant_fields = set(ALL_PERSON_FIELDS)
            grant_tags = set(policy.sensitive_tags)
        fields = grant_fields if fields is None else fields & grant_fields
        tags = grant_tags if tags is None else tags & grant_tags
        full_identifiers = (
            grant_full if full_identifiers is None else full_identifiers and grant_full
        )
        may_unmask = policy.may_unmask if may_unmask is None else may_unmask and policy.may_unmask
        grant_powers = {
            "manages_sources": policy.manages_sources,
            "resolves_identities": policy.resolves_identities,
            "settles_conflicts": policy.settles_conflicts,
        }
        powers = (
            grant_powers
            if powers is None
            else {power: held and grant_powers[power] for power, held in powers.items()}
        )
    # A shorter prefix covers a longer one: keep the shortest, so filters stay small.
    kept = tuple(
        sorted(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes))
    )
    access = Access(
        user_id=int(user.pk) if user.pk is not None else None,
        roles=frozenset(g.role for g in grants),
        prefixes=kept,
        full_identifiers=bool(full_identifiers),
        may_unmask=bool(may_unmask),
        sensitive_tags=frozenset(tags or ()),
        fields=frozenset(fields or ()),
        reads_audit=flags["reads_audit"],
        administers_users=flags["administers_users"],
        needs_second_factor=flags["needs_2fa"],
        manages_sources=bool(powers and powers["manages_sources"]),
        resolves_identities=bool(powers and powers["resolves_identities"]),
        settles_conflicts=bool(powers and powers["settles_conflicts"]),
        approves_grants=flags["approves_grants"],
    )
    setattr(user, _CACHE_ATTRIBUTE, access)
    return access


def forget_access(user: User) -> None:
    """Drop the cached access (after the user's roles change)."""
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)


def shown_id_number(access: Access, value: str, id_type: str = "") -> str:
    return value if access.full_identifiers else mask_id_number(value, id_type)


def shown_phone(access: Access, value: str) -> str:
    return value if access.full_identifiers else mask_phone(value)


# ---------------------------------------------------------------------------------------------
# Values that sources sent (mapped fields, see renfang.sources.models.SourceRecord.mapped): the
# same grants and masking as the register's own fields, so a review pair or a person's
# provenance shows no more than the person page.

# Which part of a person's record (PersonField) each mapped field belongs to.
SOURCE_FIELD_GRANTS: dict[str, str] = {
    "id_type": PersonField.ID_NUMBER,
    "id_number": PersonField.ID_NUMBER,
    "name": PersonField.NAME,
    "family_name": PersonField.NAME,
    "given_name": PersonField.NAME,
    "sex": PersonField.SEX,
    "birth_date": PersonField.BIRTH_DATE,
    "death_date": PersonField.BIRTH_DATE,  # a death date goes with the birth date
    "nationality": PersonField.NATIONALITY,
    "ethnicity": PersonField.ETHNICITY,
    "hukou_division": PersonField.HUKOU,
    "hukou_type": PersonField.HUKOU,
    "hukou_address": PersonField.HUKOU,
    "residence_division": PersonField.RESIDENCES,
    "residence_house_code": PersonField.RESIDENCES,
    "residence_address": PersonField.RESIDENCES,
    "residence_from": PersonField.RESIDENCES,
    "residence_to": PersonField.RESIDENCES,
    "phone": PersonField.PHONE,
    "marital_status": PersonField.MARITAL_STATUS,
    "education": PersonField.EDUCATION,
    "employment": PersonField.EMPLOYMENT,
    "tags": PersonField.TAGS,
}


def sees_source_field(access: Access, field: str) -> bool:
    """Whether the user may see a mapped field; a field renfang does not know is shown to
    nobody (it could be anything)."""
    granted = SOURCE_FIELD_GRANTS.get(field)
    return granted is not None and access.sees_field(granted)


def shown_source_value(
    access: Access, field: str, value: str, *, sensitive_tags: frozenset[str] = frozenset()
) -> str | None:
    """A mapped value as this user may see it: ``None`` when the field is not granted; ID and
    phone numbers masked unless the role sees them whole; of ``tags`` only the tags the role
    may see (``sensitive_tags``: which of the codes the code set marks sensitive)."""
    if not sees_source_field(access, field):
        return None
    if field == "id_number":
        return shown_id_number(access, value)
    if field == "phone":
        return shown_phone(access, value)
    if field == "tags":
        return " ".join(
            tag for tag in value.split() if access.sees_tag(tag, sensitive=tag in sensitive_tags)
        )
    return value


# Runs of characters that may be an ID number, inside free text (a record id made of an ID
# number, a problem's message): any run of 14 or more digits and X, so that a number with a
# digit too many or too few (16, 17, 19 digits: the very values an import reports) is masked
# too; and mobile phone numbers.
_ID_IN_TEXT = re.compile(r"\d[\dXxＸｘ]{13,}")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86)?1\d{10}(?!\d)")


def shown_text(access: Access, text: str) -> str:
    """Free text that may hold identifiers (a record id like ``resident_id:3101…``, an import
    problem quoting the value it could not read), with every ID and phone number in it masked
    unless the role sees them whole, and hidden altogether from a reader not granted them."""

    def id_number(match: re.Match[str]) -> str:
        if not access.sees_field(PersonField.ID_NUMBER):
            return "*" * len(match.group(0))
        return shown_id_number(access, match.group(0))

    def phone(match: re.Match[str]) -> str:
        if not access.sees_field(PersonField.PHONE):
            return "*" * len(match.group(0))
        return shown_phone(access, match.group(0))

    return _PHONE_IN_TEXT.sub(phone, _ID_IN_TEXT.sub(id_number, text))


def shown_problem_value(access: Access, field: str, value: str) -> str:
    """A value a source sent, as an import problem or an unmapped code quotes it: shown as the
    field's mapped values are (an ID number that could not be read is still an ID number:
    masked; a field the reader is not granted: hidden, ""), and any identifier in it masked
    as in free text."""
    shown = shown_source_value(access, field, value)
    return "" if shown is None else shown_text(access, shown)


def shown_problem_reason(access: Access, field: str, value: str, reason: str) -> str:
    """A problem's reason, which quotes the value: the value in it shown as
    ``shown_problem_value`` shows it, and any identifier masked."""
    if value and value in reason:
        hidden = shown_problem_value(access, field, value) or "*" * len(value)
        reason = reason.replace(value, hidden)
    return shown_text(access, reason)
