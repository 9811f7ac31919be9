"""Separation of duties across accounts (issue 11, finding 8; ADR 0020).

A district administrator who is not a superuser tried three things: make an auditor account
with a password of its choosing and export the audit log as it; reset the real auditor's
password; make a department reader with full ID and phone numbers over the whole district.
Each is now refused or waits for a security officer, and a grant waiting has no effect.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from renfang.accounts.access import access_for
from renfang.accounts.models import GrantRequest, PersonField, Role, RoleGrant
from renfang.accounts.services import (
    grant_request_approve,
    grant_request_refuse,
    may_manage_account,
    role_grant,
    role_grant_propose,
    role_revoke,
)
from renfang.accounts.tests.conftest import (
    PASSWORD,
    Areas,
    confirmed_device,
    log_in,
    make_user,
    with_second_factor,
)
from renfang.accounts.tests.test_admin import USERS, change_form, english, inline
from renfang.areas.models import Area
from renfang.audit.models import Action, AuditEvent

CHOSEN = "Chosen-by-admin-1"
REQUESTS = "/admin/accounts/grantrequest/"


@pytest.fixture
def admin_client_of(district_admin: User) -> Client:
    return english(with_second_factor(Client(), district_admin))


@pytest.fixture
def security(areas: Areas) -> User:
    return make_user("security", Role.SECURITY_OFFICER, area=areas.district)


@pytest.fixture
def security_client(security: User) -> Client:
    return english(with_second_factor(Client(), security))


def _create_user(client: Client, username: str) -> User:
    response = client.post(
        f"{USERS}add/",
        {
            "username": username,
            "usable_password": "true",
            "password1": CHOSEN,
            "password2": CHOSEN,
            **inline([]),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return User.objects.get(username=username)


def _grant_in_admin(client: Client, user: User, grant: dict[str, Any]) -> Any:
    return client.post(f"{USERS}{user.pk}/change/", change_form(user, [grant]), follow=True)


def _role_events(user: User) -> list[dict[str, Any]]:
    return list(
        AuditEvent.objects.filter(action=Action.ADMIN, record_id=str(user.pk))
        .order_by("id")
        .values_list("detail", flat=True)
    )


# --- the three attacks ------------------------------------------------------------------


def test_an_administrator_cannot_make_an_auditor_and_export_the_log(
    admin_client_of: Client, areas: Areas
):
    puppet = _create_user(admin_client_of, "puppet_auditor")

    page = _grant_in_admin(
        admin_client_of, puppet, {"role": Role.AUDITOR, "area": areas.district.code}
    )

    assert page.status_code == 200
    assert "waits for a security officer" in page.content.decode()
    assert not RoleGrant.objects.filter(user=puppet).exists()
    assert GrantRequest.objects.get(user=puppet).state == GrantRequest.State.PENDING
    # Logged in with the password the administrator chose, the account reads no log.
    client = english(Client())
    assert log_in(client, "puppet_auditor", CHOSEN).status_code == 302
    assert client.get("/audit/events.xlsx").status_code == 404
    assert client.get("/audit/").status_code == 404
    assert not access_for(puppet).reads_audit


def test_approving_the_auditor_resets_the_password_the_administrator_chose(
    admin_client_of: Client, security_client: Client, areas: Areas
):
    puppet = _create_user(admin_client_of, "puppet_auditor")
    _grant_in_admin(admin_client_of, puppet, {"role": Role.AUDITOR, "area": areas.district.code})
    before = english(Client())
    assert log_in(before, "puppet_auditor", CHOSEN).status_code == 302
    pending = GrantRequest.objects.get(user=puppet)

    security_client.post(REQUESTS, {"action": "approve", "_selected_action": [str(pending.pk)]})

    assert RoleGrant.objects.filter(user=puppet, role=Role.AUDITOR).exists()
    # The administrator's password no longer works, and its session has ended.
    assert log_in(english(Client()), "puppet_auditor", CHOSEN).status_code == 200
    assert before.get("/audit/events.xlsx").status_code in (302, 404)
    # The administrator may not set a new one: that is the security officer's.
    refused = admin_client_of.post(
        f"{USERS}{puppet.pk}/password/",
        {"password1": CHOSEN, "password2": CHOSEN, "set_usable_password": "true"},
    )
    assert refused.status_code == 403
    chosen = security_client.post(
        f"{USERS}{puppet.pk}/password/",
        {"password1": "Handed-over-2026", "password2": "Handed-over-2026"},
    )
    assert chosen.status_code == 302
    details = _role_events(puppet)
    assert any(d["field"] == "grant_request" and d["new"]["state"] == "pending" for d in details)
    assert any(d["field"] == "grant_request" and d["new"]["state"] == "approved" for d in details)
    assert {"field": "password", "old": None, "new": "reset"} in details


def test_an_administrator_cannot_reset_the_auditors_password(
    admin_client_of: Client, auditor: User
):
    response = admin_client_of.post(
        f"{USERS}{auditor.pk}/password/",
        {"password1": CHOSEN, "password2": CHOSEN, "set_usable_password": "true"},
    )

    assert response.status_code == 403
    auditor.refresh_from_db()
    assert auditor.check_password(PASSWORD)
    assert log_in(Client(), "auditor", CHOSEN).status_code == 200


def test_an_administrator_cannot_deactivate_rename_or_reset_the_auditors_second_factor(
    admin_client_of: Client, auditor: User
):
    device = confirmed_device(auditor)
    grant = auditor.role_grants.get()
    data = change_form(
        auditor,
        [{"id": str(grant.pk), "user": str(auditor.pk), "role": grant.role, "area": "310104"}],
        initial=1,
    ) | {"username": "renamed"}
    del data["is_active"]

    admin_client_of.post(f"{USERS}{auditor.pk}/change/", data)
    admin_client_of.post(
        USERS, {"action": "reset_second_factor", "_selected_action": [str(auditor.pk)]}
    )

    auditor.refresh_from_db()
    assert auditor.is_active and auditor.username == "auditor"
    assert type(device).objects.filter(pk=device.pk).exists()


def test_a_district_wide_full_id_department_reader_waits_for_approval(
    admin_client_of: Client, areas: Areas
):
    reader = _create_user(admin_client_of, "full_reader")

    page = _grant_in_admin(
        admin_client_of,
        reader,
        {
            "role": Role.DEPARTMENT_READER,
            "area": areas.district.code,
            "fields": "name, id_number, phone",
        },
    )

    assert "waits for a security officer" in page.content.decode()
    assert "full ID or phone numbers" in page.content.decode()
    assert not RoleGrant.objects.filter(user=reader).exists()
    access = access_for(User.objects.get(pk=reader.pk))
    assert not access.full_identifiers and not access.reads_people
    # Until decided, the administrator may not reset its password either.
    assert admin_client_of.get(f"{USERS}{reader.pk}/password/").status_code == 403


def test_a_service_call_cannot_skip_the_approval(district_admin: User, areas: Areas):
    reader = make_user("full_reader")

    with pytest.raises(ValidationError) as refused:
        role_grant(
            user=reader,
            role=Role.DEPARTMENT_READER,
            area=areas.district,
            fields=[PersonField.ID_NUMBER],
            granted_by=district_admin,
        )

    assert refused.value.code == "approval_required"
    assert not RoleGrant.objects.filter(user=reader).exists()


# --- what needs approval and what does not -------------------------------------------


@pytest.mark.parametrize(
    ("role", "where", "fields", "beyond"),
    [
        (Role.COLLECTOR, "committee", [], []),
        (Role.DISTRICT_ADMIN, "district", [], []),
        (Role.DEPARTMENT_READER, "district", ["name", "sex"], []),
        (Role.DEPARTMENT_READER, "street", ["name", "tag:disabled"], ["sensitive_tags"]),
        (Role.DEPARTMENT_READER, "district", ["phone"], ["full_identifiers"]),
        (Role.COMMITTEE_CLERK, "committee", [], ["sensitive_tags"]),
        (Role.POLICE, "police_area", [], ["full_identifiers", "sensitive_tags"]),
        (Role.AUDITOR, "district", [], ["role"]),
        (Role.SECURITY_OFFICER, "district", [], ["role"]),
    ],
)
def test_grants_beyond_the_administrators_own_powers_wait(  # noqa: PLR0917
    district_admin: User, areas: Areas, role: str, where: str, fields: list[str], beyond: list[str]
):
    user = make_user("someone")
    place: dict[str, Any] = (
        {"police_area": areas.police_area}
        if where == "police_area"
        else {"area": getattr(areas, where)}
    )

    done = role_grant_propose(
        user=user, role=role, fields=fields, requested_by=district_admin, **place
    )

    if beyond:
        assert isinstance(done, GrantRequest) and done.reasons == beyond
        assert not RoleGrant.objects.filter(user=user).exists()
    else:
        assert isinstance(done, RoleGrant)


def test_an_area_beyond_the_administrators_own_waits(areas: Areas):
    street_admin_area = areas.street
    # An administrator of one street (roles.toml binds them to districts; a deployment may
    # bind them lower) asks for a collector in another street.
    admin = make_user("street_admin")
    RoleGrant.objects.create(user=admin, role=Role.DISTRICT_ADMIN, area=street_admin_area)
    other = make_user("other")
    from renfang.areas.models import Area, AreaLevel  # noqa: PLC0415

    far = Area.objects.create(
        code="310104004001", name="湖南居委会", parent=areas.other_street, level=AreaLevel.COMMITTEE
    )

    done = role_grant_propose(user=other, role=Role.COLLECTOR, area=far, requested_by=admin)

    assert isinstance(done, GrantRequest) and done.reasons == ["area"]


def test_nobody_grants_themselves_anything(district_admin: User, security: User, areas: Areas):
    for actor, role in ((district_admin, Role.COLLECTOR), (security, Role.AUDITOR)):
        with pytest.raises(ValidationError) as refused:
            role_grant_propose(user=actor, role=role, area=areas.committee, requested_by=actor)
        assert refused.value.code == "self_grant"


# --- the security officer ---------------------------------------------------------------


def test_the_security_officer_reads_no_people_and_no_log(security: User):
    access = access_for(security)

    assert access.approves_grants
    assert not access.reads_people and not access.reads_audit and not access.administers_users
    assert access.needs_second_factor


def test_a_security_officer_holds_no_other_role(security: User, areas: Areas):
    with pytest.raises(ValidationError) as refused:
        role_grant(user=security, role=Role.COLLECTOR, area=areas.committee, granted_by=None)

    assert refused.value.code == "separation_of_duties"


def test_the_security_officer_grants_the_auditor_role_but_no_ordinary_role(
    security: User, areas: Areas
):
    newcomer = make_user("newcomer")

    with pytest.raises(ValidationError) as refused:
        role_grant_propose(
            user=newcomer, role=Role.COLLECTOR, area=areas.committee, requested_by=security
        )
    grant = role_grant_propose(
        user=newcomer, role=Role.AUDITOR, area=areas.district, requested_by=security
    )

    assert refused.value.code == "not_an_administrator"
    assert isinstance(grant, RoleGrant)
    newcomer.refresh_from_db()
    assert not newcomer.has_usable_password()  # the security officer hands out a new one


def test_only_a_security_officer_revokes_the_auditor(
    district_admin: User, security: User, auditor: User
):
    grant = auditor.role_grants.get()

    with pytest.raises(ValidationError):
        role_revoke(grant=grant, revoked_by=district_admin)
    assert RoleGrant.objects.filter(pk=grant.pk).exists()

    role_revoke(grant=grant, revoked_by=security)
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()


def test_nobody_approves_their_own_request_or_a_grant_to_themselves(
    district_admin: User, security: User, areas: Areas
):
    other_admin = make_user("other_admin", Role.DISTRICT_ADMIN, area=areas.district)
    user = make_user("someone")
    pending = role_grant_propose(
        user=user, role=Role.COMMITTEE_CLERK, area=areas.committee, requested_by=district_admin
    )
    assert isinstance(pending, GrantRequest)

    for approver in (district_admin, other_admin):
        with pytest.raises(ValidationError):
            grant_request_approve(request=pending, approved_by=approver)

    grant = grant_request_approve(request=pending, approved_by=security)
    assert grant.role == Role.COMMITTEE_CLERK
    with pytest.raises(ValidationError) as again:
        grant_request_refuse(request=pending, refused_by=security)
    assert again.value.code == "decided"


def test_a_refused_request_gives_nothing_and_is_audited(
    district_admin: User, security: User, areas: Areas
):
    user = make_user("someone")
    pending = role_grant_propose(
        user=user, role=Role.AUDITOR, area=areas.district, requested_by=district_admin
    )
    assert isinstance(pending, GrantRequest)

    grant_request_refuse(request=pending, refused_by=security, note="no reason given")

    pending.refresh_from_db()
    assert pending.state == GrantRequest.State.REFUSED and pending.decided_by == security
    assert not RoleGrant.objects.filter(user=user).exists()
    event = AuditEvent.objects.filter(detail__field="grant_request").order_by("id").last()
    assert event is not None and event.username == "security"
    assert event.detail["new"]["state"] == "refused"


def test_accounts_are_split_between_administrator_and_security_officer(
    district_admin: User, security: User, collector: User, auditor: User, clerk: User
):
    assert may_manage_account(district_admin, collector)
    assert not may_manage_account(district_admin, auditor)
    assert not may_manage_account(district_admin, clerk)  # sensitive tags beyond its own
    assert not may_manage_account(security, collector)
    assert may_manage_account(security, auditor)
    assert may_manage_account(security, clerk)


def test_the_security_officer_sees_the_requests_and_an_administrator_cannot_decide(
    admin_client_of: Client, security_client: Client, areas: Areas
):
    user = _create_user(admin_client_of, "newcomer")
    _grant_in_admin(admin_client_of, user, {"role": Role.AUDITOR, "area": areas.district.code})
    pending = GrantRequest.objects.get(user=user)

    listing = security_client.get(REQUESTS)
    admin_listing = admin_client_of.get(REQUESTS)
    admin_client_of.post(REQUESTS, {"action": "approve", "_selected_action": [str(pending.pk)]})

    assert listing.status_code == 200 and "newcomer" in listing.content.decode()
    assert admin_listing.status_code == 200  # visible, not decidable
    pending.refresh_from_db()
    assert pending.state == GrantRequest.State.PENDING


# --- the operators' command ----------------------------------------------------------------


def test_an_operator_bootstraps_the_security_officer_and_decides_requests(
    district_admin: User, areas: Areas, capsys
):
    call_command(
        "grants", "grant", "first_security", "security_officer", "--area", "310104", "--create"
    )
    officer = User.objects.get(username="first_security")
    assert access_for(officer).approves_grants
    assert not officer.has_usable_password()

    user = make_user("someone")
    pending = role_grant_propose(
        user=user, role=Role.AUDITOR, area=areas.district, requested_by=district_admin
    )
    call_command("grants", "pending")
    listed = capsys.readouterr().out
    assert f"{pending.pk}" in listed and "someone" in listed and "auditor" in listed

    call_command("grants", "approve", str(pending.pk))
    assert RoleGrant.objects.filter(user=user, role=Role.AUDITOR).exists()
    event = AuditEvent.objects.filter(detail__field="grant_request").order_by("id").last()
    assert event is not None and event.channel == "command"


def test_an_operator_refuses_and_revokes_with_the_command(
    district_admin: User, auditor: User, areas: Areas, capsys
):
    user = make_user("someone")
    pending = role_grant_propose(
        user=user, role=Role.AUDITOR, area=areas.district, requested_by=district_admin
    )

    call_command("grants", "refuse", str(pending.pk), "--note", "not known to us")
    call_command("grants", "list")
    call_command("grants", "revoke", "auditor", "auditor")

    listed = capsys.readouterr().out
    assert "refused" in listed and "qu_admin" in listed
    assert not RoleGrant.objects.filter(user__in=[user, auditor]).exists()
    with pytest.raises(CommandError):
        call_command("grants", "approve", str(pending.pk))  # decided already


def test_an_administrator_cannot_widen_a_police_area_to_give_its_officers_more(
    areas: Areas, admin_client_of: Client
) -> None:
    """Issue 11 review: a police area is part of every grant that names it. Adding another
    street's committee to it would give its officers full numbers and police tags there, which
    the administrator does not hold: refused with a message, nothing changed. Narrowing it, or
    changing one that no grant names, stays the administrator's."""
    officer = make_user("minjing", Role.POLICE, police_area=areas.police_area)
    outside = Area.objects.create(
        code="310104004001", name="湖南居委会", parent=areas.other_street, level="committee"
    )
    url = f"/admin/accounts/policearea/{areas.police_area.pk}/change/"
    committees = [areas.committee.pk, areas.sibling.pk, outside.pk]
    response = admin_client_of.post(url, {"name": "天平警务区", "committees": committees})
    assert response.status_code == 200
    assert "would see more than you may grant" in response.content.decode()
    assert set(areas.police_area.committees.values_list("pk", flat=True)) == {
        areas.committee.pk,
        areas.sibling.pk,
    }
    assert not access_for(User.objects.get(pk=officer.pk)).covers("310104004001")
    # Narrowing gives nobody anything.
    response = admin_client_of.post(url, {"name": "天平警务区", "committees": [areas.committee.pk]})
    assert response.status_code == 302
    assert list(areas.police_area.committees.values_list("pk", flat=True)) == [areas.committee.pk]
