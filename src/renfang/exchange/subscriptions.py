"""Writing subscriptions (订阅): what a department receives of the change feed.

Only the district administrator manages them (the ``administers_users`` power of roles.toml:
who grants a department reader its areas and fields also decides what it subscribes to). A
subscription never widens its subscriber's grant; the feed intersects both at every read
(``exchange.selectors.view_of``), and these services refuse what the grant does not hold at
the time of writing, so that what the administrator sees on the page is what the department
gets. Every write is audited with its field changes, in the write's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils.translation import gettext as _

from renfang.accounts.access import Access, access_for
from renfang.accounts.models import PersonField, Role, RoleGrant
from renfang.areas.models import Area
from renfang.audit.services import audit_write, field_change
from renfang.exchange.models import EventType, Subscription
from renfang.people.categories import Category

User = AbstractBaseUser | AnonymousUser

MAX_AGE = 150
NAME_LENGTH = 100
SEXES = ("1", "2")  # GB/T 2261.1: male, female
# The fields a subscription is made of, in the order the form and the audit show them.
FIELDS = (
    "subscriber",
    "name",
    "event_types",
    "areas",
    "fields",
    "sex",
    "age_min",
    "age_max",
    "categories",
    "active",
)
_SOURCE = "subscriptions"


# What each filter of a subscription reads of a person (accounts.PersonField): a filter chooses
# people by a field, so choosing by one the subscriber is not granted tells it that field
# (``categories: ["overseas"]`` delivers exactly the overseas people). ADR 0022.
CATEGORY_FIELDS = (PersonField.NATIONALITY, PersonField.HUKOU)  # people.categories.category
FILTER_FIELDS: dict[str, tuple[str, ...]] = {
    "sex": (PersonField.SEX,),
    "age_min": (PersonField.BIRTH_DATE,),
    "age_max": (PersonField.BIRTH_DATE,),
    "categories": CATEGORY_FIELDS,
}
# Event types that tell a field by happening at all: a death tells the death date and a birth
# the birth date (both go with the birth date grant, as in accounts.access).
EVENT_TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    EventType.DIED: (PersonField.BIRTH_DATE,),
    EventType.BORN: (PersonField.BIRTH_DATE,),
}


def _field_names(fields: Iterable[str]) -> str:
    """The grants by their codes, as the grant and the subscription's fields name them."""
    return ", ".join(str(f) for f in fields)


def filters_outside_grant(values: Mapping[str, Any], access: Access) -> dict[str, list[str]]:
    """The filters of a subscription (its values, as saved or as given) that choose people by
    a field the subscriber's grant does not hold, each with a message naming the filter and
    the missing grant; empty when every filter is allowed."""
    problems: dict[str, list[str]] = {}
    for name, needs in FILTER_FIELDS.items():
        value = values.get(name)
        if value in (None, "", []):
            continue
        missing = [f for f in needs if not access.sees_field(f)]
        if missing:
            problems.setdefault(name, []).append(
                _("Filtering by %(filter)s needs the grant of %(fields)s, which the subscriber "
                  "does not hold.") % {"filter": name, "fields": _field_names(missing)}
            )  # fmt: skip
    for kind in _strings(values.get("event_types")):
        missing = [f for f in EVENT_TYPE_FIELDS.get(kind, ()) if not access.sees_field(f)]
        if missing:
            problems.setdefault("event_types", []).append(
                _("The event type %(type)s needs the grant of %(fields)s, which the subscriber "
                  "does not hold.") % {"type": kind, "fields": _field_names(missing)}
            )  # fmt: skip
    for code in _strings(values.get("areas")):
        if not access.covers(code):
            problems.setdefault("areas", []).append(
                _("Area %(value)s lies outside the subscriber's grant.") % {"value": code}
            )
    return problems


class SubscriptionInvalid(ValueError):
    """What is wrong with a subscription, by field (each field's messages); nothing saved."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {name: list(messages) for name, messages in errors.items()}
        super().__init__(
            "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in self.errors.items())
        )


class SubscriptionRefused(PermissionError):
    """The acting user may not manage subscriptions."""


@dataclass(frozen=True)
class _Checked:
    values: dict[str, Any]
    errors: dict[str, list[str]]


def may_manage_subscriptions(user: User | None) -> bool:
    """Whether the user may create, change and delete subscriptions (None: the system)."""
    return user is None or access_for(user).administers_users


def _require_power(user: User | None) -> None:
    if not may_manage_subscriptions(user):
        raise SubscriptionRefused(_("Your role may not manage subscriptions."))


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [str(item).strip() for item in value if str(item).strip()]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _subscriber(value: Any, errors: dict[str, list[str]]) -> AbstractBaseUser | None:
    model = get_user_model()
    user: AbstractBaseUser | None
    if isinstance(value, model):
        user = value
    else:
        try:
            user = model.objects.filter(pk=int(value)).first()
        except (TypeError, ValueError):
            user = None
    if (
        user is None
        or not user.is_active
        or not RoleGrant.objects.filter(user_id=user.pk, role=Role.DEPARTMENT_READER).exists()
    ):
        errors.setdefault("subscriber", []).append(
            _("The subscriber must be an active user with the department reader role.")
        )
        return None
    return user


def _age(name: str, value: Any, errors: dict[str, list[str]]) -> int | None:
    if value is None or value == "":
        return None
    try:
        age = int(value)
    except (TypeError, ValueError):
        age = -1
    if not 0 <= age <= MAX_AGE:
        errors.setdefault(name, []).append(
            _("An age must be a whole number from 0 to %(max)s.") % {"max": MAX_AGE}
        )
        return None
    return age


def _check(values: Mapping[str, Any], *, instance: Subscription | None) -> _Checked:  # noqa: C901, PLR0912
    """Every problem of a subscription at once, each under the field it concerns."""
    errors: dict[str, list[str]] = {}
    subscriber = _subscriber(values.get("subscriber"), errors)
    access = access_for(subscriber) if subscriber is not None else None

    name = str(values.get("name") or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("Give the subscription a name."))
    elif len(name) > NAME_LENGTH:
        errors.setdefault("name", []).append(
            _("A name has at most %(max)s characters.") % {"max": NAME_LENGTH}
        )
    elif subscriber is not None:
        same = Subscription.objects.filter(subscriber_id=subscriber.pk, name=name)
        if instance is not None:
            same = same.exclude(pk=instance.pk)
        if same.exists():
            errors.setdefault("name", []).append(
                _("The subscriber already has a subscription of this name.")
            )

    event_types = _unique(_strings(values.get("event_types")))
    for kind in event_types:
        if kind not in EventType.values:
            errors.setdefault("event_types", []).append(
                _("%(value)s is not an event type.") % {"value": kind}
            )

    areas = _unique(_strings(values.get("areas")))
    known = set(Area.objects.filter(code__in=areas).values_list("code", flat=True))
    for code in areas:
        if code not in known:
            errors.setdefault("areas", []).append(
                _("%(value)s is not a known division code.") % {"value": code}
            )
        elif access is not None and not access.covers(code):
            errors.setdefault("areas", []).append(
                _("Area %(value)s lies outside the subscriber's grant.") % {"value": code}
            )

    fields = _unique(_strings(values.get("fields")))
    for field in fields:
        if field not in PersonField.values:
            errors.setdefault("fields", []).append(
                _("%(value)s is not a field of a person's record.") % {"value": field}
            )
        elif access is not None and not access.sees_field(field):
            errors.setdefault("fields", []).append(
                _("The field %(value)s is not granted to the subscriber.") % {"value": field}
            )

    sex = str(values.get("sex") or "").strip()
    if sex and sex not in SEXES:
        errors.setdefault("sex", []).append(_("Sex must be 1 (male), 2 (female) or empty."))

    age_min = _age("age_min", values.get("age_min"), errors)
    age_max = _age("age_max", values.get("age_max"), errors)
    if age_min is not None and age_max is not None and age_min > age_max:
        errors.setdefault("age_max", []).append(_("The upper age is below the lower age."))

    categories = _unique(_strings(values.get("categories")))
    for value in categories:
        if value not in {str(c) for c in Category}:
            errors.setdefault("categories", []).append(
                _("%(value)s is not a category of people.") % {"value": value}
            )

    if access is not None:
        for name, messages in filters_outside_grant(
            {
                "sex": sex,
                "age_min": age_min,
                "age_max": age_max,
                "categories": categories,
                "event_types": event_types,
            },
            access,
        ).items():
            errors.setdefault(name, []).extend(messages)

    return _Checked(
        values={
            "subscriber": subscriber,
            "name": name,
            "event_types": sorted(event_types),
            "areas": sorted(areas),
            "fields": sorted(fields),
            "sex": sex,
            "age_min": age_min,
            "age_max": age_max,
            "categories": sorted(categories),
            "active": bool(values.get("active", True)),
        },
        errors=errors,
    )


def _plain(name: str, value: Any) -> Any:
    if name == "subscriber":
        return getattr(value, "username", None) if value is not None else None
    return value


def _current(subscription: Subscription) -> dict[str, Any]:
    return {name: getattr(subscription, name) for name in FIELDS}


def subscription_create(*, user: User | None, **values: Any) -> Subscription:
    """A new subscription (values as in ``FIELDS``); raises ``SubscriptionInvalid`` naming
    every field at fault, ``SubscriptionRefused`` for a user without the power."""
    _require_power(user)
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown subscription fields {sorted(unknown)}")
    checked = _check(values, instance=None)
    if checked.errors:
        raise SubscriptionInvalid(checked.errors)
    with transaction.atomic():
        subscription = Subscription.objects.create(
            **checked.values,
            created_by=user if isinstance(user, get_user_model()) else None,
        )
        audit_write(
            actor=user,
            record_type="subscription",
            record_id=subscription.pk,
            changes=[
                field_change(name, None, _plain(name, value))
                for name, value in checked.values.items()
            ],
            source=_SOURCE,
        )
    return subscription


def subscription_update(
    subscription: Subscription, *, user: User | None, **changes: Any
) -> Subscription:
    """Change some of a subscription's values; the rest stay. Validated as a whole (a new
    subscriber must hold the areas and fields kept); audited with the fields that changed."""
    _require_power(user)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown subscription fields {sorted(unknown)}")
    before = _current(subscription)
    checked = _check({**before, **changes}, instance=subscription)
    if checked.errors:
        raise SubscriptionInvalid(checked.errors)
    lines = [
        field_change(name, _plain(name, before[name]), _plain(name, value))
        for name, value in checked.values.items()
        if _plain(name, before[name]) != _plain(name, value)
    ]
    if not lines:
        return subscription
    with transaction.atomic():
        for name, value in checked.values.items():
            setattr(subscription, name, value)
        subscription.save()
        audit_write(
            actor=user,
            record_type="subscription",
            record_id=subscription.pk,
            changes=lines,
            source=_SOURCE,
        )
    return subscription


def subscription_delete(subscription: Subscription, *, user: User | None) -> None:
    """Delete a subscription with its webhook endpoint and deliveries; the audit keeps what
    it was. (Setting ``active`` off keeps it, and stops its feed.)"""
    _require_power(user)
    before = _current(subscription)
    record_id = subscription.pk
    with transaction.atomic():
        subscription.delete()
        audit_write(
            actor=user,
            record_type="subscription",
            record_id=record_id,
            changes=[
                field_change(name, _plain(name, value), None) for name, value in before.items()
            ],
            source=_SOURCE,
        )
