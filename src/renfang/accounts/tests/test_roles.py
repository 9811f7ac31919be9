"""Granting and revoking roles: the area must be of a level the role is bound to, department
readers need a field list, nobody both administers users and reads the audit log, and every
grant and revoke is audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from renfang.accounts.access import access_for
from renfang.accounts.models import PersonField, Role, RoleGrant
from renfang.accounts.services import role_grant, role_grant_update, role_revoke
from renfang.accounts.tests.conftest import Areas, make_user
from renfang.audit.models import Action, AuditEvent
from renfang.audit.services import audit_verify


def admin_events(user: User) -> list[dict[str, object]]:
    return list(
        AuditEvent.objects.filter(action=Action.ADMIN, record_type="user", record_id=str(user.pk))
        .order_by("id")
        .values_list("detail", flat=True)
    )


@pytest.mark.parametrize(
    ("role", "area_key"),
    [
        (Role.DISTRICT_ADMIN, "street"),
        (Role.STREET_OFFICER, "committee"),
        (Role.COMMITTEE_CLERK, "street"),
        (Role.COLLECTOR, "district"),
        (Role.AUDITOR, "committee"),
    ],
)
def test_a_role_bound_to_an_area_of_the_wrong_level_is_refused(areas: Areas, role, area_key):
    user = make_user("someone")

    with pytest.raises(ValidationError) as refused:
        role_grant(user=user, role=role, area=getattr(areas, area_key), granted_by=None)

    assert refused.value.code == "area_level"
    assert not RoleGrant.objects.filter(user=user).exists()
    assert admin_events(user) == []


@pytest.mark.parametrize(
    ("role", "area_key"),
    [
        (Role.DISTRICT_ADMIN, "district"),
        (Role.STREET_OFFICER, "street"),
        (Role.COMMITTEE_CLERK, "committee"),
        (Role.COLLECTOR, "committee"),
        (Role.COLLECTOR, "grid"),
        (Role.AUDITOR, "district"),
    ],
)
def test_a_role_bound_to_an_area_of_its_level_is_granted(areas: Areas, role, area_key):
    user = make_user("someone")

    grant = role_grant(user=user, role=role, area=getattr(areas, area_key), granted_by=None)

    assert grant.area == getattr(areas, area_key)
    assert role in access_for(User.objects.get(pk=user.pk)).roles


def test_the_police_are_bound_to_a_police_area_and_only_they_are(areas: Areas):
    officer = make_user("police")

    with pytest.raises(ValidationError) as to_committee:
        role_grant(user=officer, role=Role.POLICE, area=areas.committee, granted_by=None)
    assert to_committee.value.code == "area_level"

    with pytest.raises(ValidationError) as clerk_to_beat:
        role_grant(
            user=officer, role=Role.COMMITTEE_CLERK, police_area=areas.police_area, granted_by=None
        )
    assert clerk_to_beat.value.code == "area_level"

    with pytest.raises(ValidationError) as both:
        role_grant(
            user=officer,
            role=Role.POLICE,
            area=areas.committee,
            police_area=areas.police_area,
            granted_by=None,
        )
    assert both.value.code == "area_and_police_area"

    with pytest.raises(ValidationError) as neither:
        role_grant(user=officer, role=Role.POLICE, granted_by=None)
    assert neither.value.code == "area_required"

    role_grant(user=officer, role=Role.POLICE, police_area=areas.police_area, granted_by=None)
    access = access_for(User.objects.get(pk=officer.pk))
    assert set(access.prefixes) == {areas.committee.code, areas.sibling.code}


def test_a_department_reader_needs_a_valid_field_list(areas: Areas):
    reader = make_user("civil_affairs")

    for fields, code in [
        ([], "fields_required"),
        (["name", "salary"], "fields_unknown"),
        (["name", "tag:party_member"], "fields_unknown"),  # not a sensitive tag it may have
        (["name", "tag:no_such_tag"], "fields_unknown"),
    ]:
        with pytest.raises(ValidationError) as refused:
            role_grant(
                user=reader,
                role=Role.DEPARTMENT_READER,
                area=areas.district,
                fields=fields,
                granted_by=None,
            )
        assert refused.value.code == code, fields

    grant = role_grant(
        user=reader,
        role=Role.DEPARTMENT_READER,
        area=areas.district,
        fields=[PersonField.NAME, PersonField.TAGS, "tag:subsistence_allowance", "name"],
        granted_by=None,
    )

    assert grant.fields == ["name", "tags", "tag:subsistence_allowance"]  # once each
    access = access_for(User.objects.get(pk=reader.pk))
    assert access.sees_tag("subsistence_allowance", sensitive=True)
    assert not access.sees_tag("drug_user", sensitive=True)


def test_only_a_department_reader_is_given_fields(areas: Areas):
    clerk = make_user("clerk")

    with pytest.raises(ValidationError) as refused:
        role_grant(
            user=clerk,
            role=Role.COMMITTEE_CLERK,
            area=areas.committee,
            fields=[PersonField.NAME],
            granted_by=None,
        )

    assert refused.value.code == "fields_not_allowed"


def test_nobody_both_administers_users_and_reads_the_audit_log(areas: Areas):
    admin = make_user("qu_admin", Role.DISTRICT_ADMIN, area=areas.district)
    auditor = make_user("auditor", Role.AUDITOR, area=areas.district)

    with pytest.raises(ValidationError) as admin_audits:
        role_grant(user=admin, role=Role.AUDITOR, area=areas.district, granted_by=None)
    with pytest.raises(ValidationError) as auditor_administers:
        role_grant(user=auditor, role=Role.DISTRICT_ADMIN, area=areas.district, granted_by=None)

    for refused in (admin_audits, auditor_administers):
        assert refused.value.code == "separation_of_duties"
        assert (
            "Separation of duties" in refused.value.messages[0]
            or "职责分离" in (refused.value.messages[0])
        )
    assert list(RoleGrant.objects.filter(user=admin).values_list("role", flat=True)) == [
        Role.DISTRICT_ADMIN
    ]
    assert list(RoleGrant.objects.filter(user=auditor).values_list("role", flat=True)) == [
        Role.AUDITOR
    ]


def test_a_superuser_may_not_read_the_audit_log(areas: Areas):
    root = User.objects.create_superuser("root", password="Tianping-road-12")

    with pytest.raises(ValidationError) as refused:
        role_grant(user=root, role=Role.AUDITOR, area=areas.district, granted_by=None)

    assert refused.value.code == "separation_of_duties"


def test_changing_a_role_in_place_is_checked_too(areas: Areas):
    admin = make_user("qu_admin", Role.DISTRICT_ADMIN, area=areas.district)
    second = role_grant(user=admin, role=Role.STREET_OFFICER, area=areas.street, granted_by=None)

    with pytest.raises(ValidationError) as refused:
        role_grant_update(grant=second, role=Role.AUDITOR, area=areas.district, changed_by=None)

    assert refused.value.code == "separation_of_duties"
    assert RoleGrant.objects.get(pk=second.pk).role == Role.STREET_OFFICER


def test_the_same_role_twice_in_one_area_is_refused(areas: Areas):
    clerk = make_user("clerk", Role.COMMITTEE_CLERK, area=areas.committee)

    with pytest.raises(ValidationError) as refused:
        role_grant(user=clerk, role=Role.COMMITTEE_CLERK, area=areas.committee, granted_by=None)

    assert refused.value.code == "duplicate"
    # The same role in another committee is a second grant.
    role_grant(user=clerk, role=Role.COMMITTEE_CLERK, area=areas.sibling, granted_by=None)
    assert RoleGrant.objects.filter(user=clerk).count() == 2


def test_grants_changes_and_revokes_are_audited_with_old_and_new(areas: Areas):
    granter = make_user("qu_admin", Role.DISTRICT_ADMIN, area=areas.district)
    clerk = make_user("clerk")

    # A collector: within an administrator's own powers (no sensitive tags), so at once.
    grant = role_grant(user=clerk, role=Role.COLLECTOR, area=areas.committee, granted_by=granter)
    role_grant_update(grant=grant, role=Role.COLLECTOR, area=areas.sibling, changed_by=granter)
    role_revoke(grant=RoleGrant.objects.get(pk=grant.pk), revoked_by=granter)

    clerk_role: dict[str, object] = {"role": "collector", "police_area": None, "fields": []}
    assert admin_events(clerk) == [
        {"field": "role", "old": None, "new": clerk_role | {"area": areas.committee.code}},
        {
            "field": "role",
            "old": clerk_role | {"area": areas.committee.code},
            "new": clerk_role | {"area": areas.sibling.code},
        },
        {"field": "role", "old": clerk_role | {"area": areas.sibling.code}, "new": None},
    ]
    events = AuditEvent.objects.filter(record_id=str(clerk.pk), action=Action.ADMIN)
    assert set(events.values_list("username", flat=True)) == {"qu_admin"}
    assert not RoleGrant.objects.filter(user=clerk).exists()
    assert audit_verify().ok


def test_a_grant_by_a_command_names_the_operator(areas: Areas):
    clerk = make_user("clerk", Role.COMMITTEE_CLERK, area=areas.committee)

    event = AuditEvent.objects.filter(record_id=str(clerk.pk), action=Action.ADMIN).get()

    assert event.user_id is None
    assert event.username.startswith("system")
    assert event.channel == "command"


def test_staff_status_follows_the_roles_that_work_in_the_admin(areas: Areas):
    user = make_user("changing_jobs", Role.COMMITTEE_CLERK, area=areas.committee)
    assert not user.is_staff

    admin_grant = role_grant(
        user=user, role=Role.DISTRICT_ADMIN, area=areas.district, granted_by=None
    )
    user.refresh_from_db()
    assert user.is_staff
    assert {"field": "is_staff", "old": False, "new": True} in admin_events(user)

    role_revoke(grant=admin_grant, revoked_by=None)
    user.refresh_from_db()
    assert not user.is_staff
    assert {"field": "is_staff", "old": True, "new": False} in admin_events(user)


def test_a_role_change_takes_effect_on_the_users_access_at_once(areas: Areas):
    clerk = make_user("clerk", Role.COMMITTEE_CLERK, area=areas.committee)
    assert access_for(clerk).prefixes == (areas.committee.code,)

    role_grant(user=clerk, role=Role.STREET_OFFICER, area=areas.street, granted_by=None)

    assert access_for(clerk).prefixes == (areas.street.code,)  # the cached access is dropped


@pytest.mark.parametrize(
    ("role", "where"),
    [
        (Role.POLICE, {"area": None}),  # police_area filled in below
        (Role.DEPARTMENT_READER, {"fields": [PersonField.ID_NUMBER, "tag:drug_user"]}),
    ],
)
def test_an_administrator_cannot_give_themselves_a_role(areas: Areas, role, where):
    admin = make_user("qu_self")
    role_grant(user=admin, role=Role.DISTRICT_ADMIN, area=areas.district, granted_by=None)
    grant: dict[str, object] = (
        {"police_area": areas.police_area}
        if role == Role.POLICE
        else {"area": areas.district, **where}
    )

    with pytest.raises(ValidationError) as refused:
        role_grant(user=admin, role=role, granted_by=admin, **grant)  # type: ignore[arg-type]

    assert refused.value.code == "self_grant"
    assert list(RoleGrant.objects.filter(user=admin).values_list("role", flat=True)) == [
        Role.DISTRICT_ADMIN
    ]
    assert not access_for(admin).full_identifiers
