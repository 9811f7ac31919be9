"""User administration in the admin: only district administrators and superusers; roles
are checked by the services' rules and audited; the audit log is read-only for everyone and
shown only to auditors."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client

from renfang.accounts.models import ApiToken, PoliceArea, Role, RoleGrant
from renfang.accounts.tests.conftest import (
    PASSWORD,
    Areas,
    confirmed_device,
    log_in,
    make_user,
    with_second_factor,
)
from renfang.accounts.tokens import api_token_create
from renfang.audit.models import Action, AuditEvent
from renfang.audit.services import audit_record

USERS = "/admin/auth/user/"


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def admin_client_of(district_admin: User) -> Client:
    """The district administrator, logged in with the second factor."""
    return english(with_second_factor(Client(), district_admin))


def inline(grants: list[dict[str, Any]], initial: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {
        "role_grants-TOTAL_FORMS": str(len(grants)),
        "role_grants-INITIAL_FORMS": str(initial),
        "role_grants-MIN_NUM_FORMS": "0",
        "role_grants-MAX_NUM_FORMS": "1000",
    }
    for index, grant in enumerate(grants):
        for key, value in grant.items():
            data[f"role_grants-{index}-{key}"] = value
    return data


def change_form(user: User, grants: list[dict[str, Any]], initial: int = 0) -> dict[str, Any]:
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        **inline(grants, initial),
    }


# --- who may use it -------------------------------------------------------------------


def test_a_district_administrator_manages_users(admin_client_of: Client, clerk: User):
    listing = admin_client_of.get(USERS)

    assert listing.status_code == 200
    assert "clerk" in listing.content.decode()
    assert admin_client_of.get(f"{USERS}{clerk.pk}/change/").status_code == 200


def test_the_admin_is_closed_until_the_second_factor_is_given(district_admin: User):
    confirmed_device(district_admin)
    client = Client()
    log_in(client, "qu_admin")

    response = client.get(USERS)

    assert response.status_code == 302
    assert response["Location"].startswith("/account/second-factor/")


@pytest.mark.parametrize("who", ["clerk", "auditor", "reader"])
def test_other_roles_may_not_manage_users(request, who: str):
    user = request.getfixturevalue(who)
    user.is_staff = True  # even if someone made them staff
    user.save()
    client = Client()
    client.force_login(user)

    assert client.get(USERS).status_code in (302, 403)
    assert client.get(f"{USERS}add/").status_code in (302, 403)
    assert client.get("/admin/accounts/policearea/").status_code in (302, 403)
    assert client.get("/admin/accounts/apitoken/").status_code in (302, 403)


def test_a_superuser_manages_users(admin_client: Client, clerk: User):
    assert admin_client.get(USERS).status_code == 200
    assert admin_client.get(f"{USERS}{clerk.pk}/change/").status_code == 200


def test_a_district_administrator_cannot_take_over_a_superuser(
    admin_client_of: Client, areas: Areas
):
    root = User.objects.create_superuser("root", password=PASSWORD)

    page = admin_client_of.get(f"{USERS}{root.pk}/change/")
    password = admin_client_of.post(
        f"{USERS}{root.pk}/password/",
        {"password1": "Taken-over-2024", "password2": "Taken-over-2024"},
    )

    assert "Save" not in page.content.decode()  # view only
    assert password.status_code == 403
    root.refresh_from_db()
    assert root.check_password(PASSWORD)


def test_a_district_administrator_cannot_make_a_superuser(admin_client_of: Client, clerk: User):
    data = change_form(clerk, []) | {"is_superuser": "on", "is_staff": "on"}

    admin_client_of.post(f"{USERS}{clerk.pk}/change/", data)

    clerk.refresh_from_db()
    assert not clerk.is_superuser and not clerk.is_staff


def test_users_are_never_deleted_in_the_admin(admin_client: Client, clerk: User):
    response = admin_client.post(f"{USERS}{clerk.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=clerk.pk).exists()


# --- roles in the admin ---------------------------------------------------------------


def test_a_role_given_in_the_admin_is_audited(admin_client_of: Client, areas: Areas):
    newcomer = make_user("newcomer")

    response = admin_client_of.post(
        f"{USERS}{newcomer.pk}/change/",
        change_form(newcomer, [{"role": Role.COLLECTOR, "area": areas.committee.code}]),
    )

    assert response.status_code == 302
    grant = RoleGrant.objects.get(user=newcomer)
    assert (grant.role, grant.area_id) == (Role.COLLECTOR, areas.committee.code)
    event = AuditEvent.objects.get(
        action=Action.ADMIN, record_id=str(newcomer.pk), detail__field="role"
    )
    assert event.username == "qu_admin"
    assert event.channel == "page"
    assert event.detail["new"]["role"] == Role.COLLECTOR


def test_a_role_of_the_wrong_level_is_refused_in_the_admin(admin_client_of: Client, areas: Areas):
    newcomer = make_user("newcomer")

    response = admin_client_of.post(
        f"{USERS}{newcomer.pk}/change/",
        change_form(newcomer, [{"role": Role.COMMITTEE_CLERK, "area": areas.street.code}]),
    )

    assert response.status_code == 200
    assert "The role “committee clerk” is bound to" in response.content.decode()
    assert not RoleGrant.objects.filter(user=newcomer).exists()
    assert not AuditEvent.objects.filter(record_id=str(newcomer.pk), detail__field="role").exists()


def test_an_unknown_area_code_is_refused_in_the_admin(admin_client_of: Client, areas: Areas):
    newcomer = make_user("newcomer")

    response = admin_client_of.post(
        f"{USERS}{newcomer.pk}/change/",
        change_form(newcomer, [{"role": Role.COMMITTEE_CLERK, "area": "310104999999"}]),
    )

    assert response.status_code == 200
    assert "No area has this division code" in response.content.decode()


def test_separation_of_duties_is_refused_in_the_admin(admin_client_of: Client, areas: Areas):
    newcomer = make_user("newcomer")

    response = admin_client_of.post(
        f"{USERS}{newcomer.pk}/change/",
        change_form(
            newcomer,
            [
                {"role": Role.DISTRICT_ADMIN, "area": areas.district.code},
                {"role": Role.AUDITOR, "area": areas.district.code},
            ],
        ),
    )

    assert response.status_code == 200
    assert "Separation of duties" in response.content.decode()
    assert not RoleGrant.objects.filter(user=newcomer).exists()


def test_a_superuser_cannot_make_an_auditor_a_superuser_in_the_admin(
    admin_client: Client, auditor: User
):
    # The auditor's account is the security officer's (ADR 0020): its fields are read-only
    # even to a superuser, and a superuser may not read the audit log anyway.
    data = change_form(
        auditor,
        [
            {
                "id": str(auditor.role_grants.get().pk),
                "user": str(auditor.pk),
                "role": Role.AUDITOR,
                "area": "310104",
            }
        ],
        initial=1,
    ) | {"is_superuser": "on", "is_staff": "on"}

    response = english(admin_client).post(f"{USERS}{auditor.pk}/change/", data)

    assert response.status_code in (200, 302)
    auditor.refresh_from_db()
    assert not auditor.is_superuser


def test_a_department_reader_without_fields_is_refused_in_the_admin(
    admin_client_of: Client, areas: Areas
):
    newcomer = make_user("newcomer")
    grant = {"role": Role.DEPARTMENT_READER, "area": areas.district.code}

    refused = admin_client_of.post(f"{USERS}{newcomer.pk}/change/", change_form(newcomer, [grant]))
    accepted = admin_client_of.post(
        f"{USERS}{newcomer.pk}/change/",
        change_form(newcomer, [grant | {"fields": "name, sex"}]),
    )

    assert "A department reader needs the list of fields" in refused.content.decode()
    assert accepted.status_code == 302
    assert RoleGrant.objects.get(user=newcomer).fields == ["name", "sex"]


def test_a_role_removed_in_the_admin_is_audited(admin_client_of: Client, clerk: User):
    grant = clerk.role_grants.get()

    response = admin_client_of.post(
        f"{USERS}{clerk.pk}/change/",
        change_form(
            clerk,
            [
                {
                    "id": str(grant.pk),
                    "user": str(clerk.pk),
                    "role": grant.role,
                    "area": grant.area_id,
                    "DELETE": "on",
                }
            ],
            initial=1,
        ),
    )

    assert response.status_code == 302
    assert not RoleGrant.objects.filter(user=clerk).exists()
    event = (
        AuditEvent.objects.filter(record_id=str(clerk.pk), detail__field="role")
        .order_by("id")
        .last()
    )
    assert event is not None and event.detail["new"] is None
    assert event.detail["old"]["role"] == Role.COMMITTEE_CLERK


def test_user_changes_in_the_admin_are_audited_field_by_field(
    admin_client_of: Client, collector: User
):
    clerk = collector
    grant = clerk.role_grants.get()
    data = change_form(
        clerk,
        [{"id": str(grant.pk), "user": str(clerk.pk), "role": grant.role, "area": grant.area_id}],
        initial=1,
    )
    data.update({"first_name": "伟", "last_name": "张"})
    del data["is_active"]  # deactivate

    admin_client_of.post(f"{USERS}{clerk.pk}/change/", data)

    details = list(
        AuditEvent.objects.filter(action=Action.ADMIN, record_id=str(clerk.pk))
        .exclude(detail__field="role")
        .values_list("detail", flat=True)
    )
    assert {"field": "first_name", "old": "", "new": "伟"} in details
    assert {"field": "last_name", "old": "", "new": "张"} in details
    assert {"field": "is_active", "old": True, "new": False} in details
    assert RoleGrant.objects.filter(user=clerk).count() == 1  # unchanged, not re-granted


def test_a_user_created_in_the_admin_is_audited(admin_client_of: Client):
    response = admin_client_of.post(
        f"{USERS}add/",
        {
            "username": "new_clerk",
            "usable_password": "true",
            "password1": "Jianguo-road-301",
            "password2": "Jianguo-road-301",
            **inline([]),
        },
    )

    assert response.status_code == 302
    user = User.objects.get(username="new_clerk")
    event = AuditEvent.objects.get(action=Action.ADMIN, record_id=str(user.pk))
    assert event.detail["field"] == "user" and event.detail["old"] is None
    assert event.detail["new"]["username"] == "new_clerk"
    assert "Jianguo" not in str(event.detail)


def test_a_weak_password_is_refused_in_the_admin(admin_client_of: Client):
    response = admin_client_of.post(
        f"{USERS}add/",
        {
            "username": "new_clerk",
            "usable_password": "true",
            "password1": "shortpw",
            "password2": "shortpw",
            **inline([]),
        },
    )

    assert response.status_code == 200
    assert not User.objects.filter(username="new_clerk").exists()


def test_a_password_set_in_the_admin_is_audited_without_the_password(
    admin_client_of: Client, collector: User
):
    clerk = collector
    new = "Jianguo-road-301"

    response = admin_client_of.post(
        f"{USERS}{clerk.pk}/password/",
        {"password1": new, "password2": new, "set_usable_password": "true"},
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action=Action.ADMIN, detail__field="password")
    assert event.record_id == str(clerk.pk) and event.username == "qu_admin"
    assert new not in str(event.detail)


# --- actions --------------------------------------------------------------------------


def test_unlocking_a_user_lets_them_log_in_and_is_audited(admin_client_of: Client, clerk: User):
    for _ in range(5):
        log_in(Client(), "clerk", "Not-the-password-1")
    assert log_in(Client(), "clerk").status_code == 429

    admin_client_of.post(USERS, {"action": "unlock", "_selected_action": [str(clerk.pk)]})

    assert log_in(Client(), "clerk").status_code == 302
    event = AuditEvent.objects.get(action=Action.ADMIN, detail__field="failed_logins")
    assert event.username == "qu_admin" and event.record_id == str(clerk.pk)


def test_resetting_the_second_factor_sends_the_user_to_set_up_a_new_one(
    admin_client_of: Client, areas: Areas
):
    other_admin = make_user("other_admin", Role.DISTRICT_ADMIN, area=areas.district)
    confirmed_device(other_admin)

    admin_client_of.post(
        USERS, {"action": "reset_second_factor", "_selected_action": [str(other_admin.pk)]}
    )

    client = Client()
    log_in(client, "other_admin")
    assert (
        client.get("/", follow=True)
        .redirect_chain[-1][0]
        .startswith("/account/second-factor/setup/")
    )
    assert AuditEvent.objects.filter(
        action=Action.ADMIN, detail__field="second_factor", detail__old="totp"
    ).exists()


# --- police areas and tokens ----------------------------------------------------------


def test_a_police_area_changed_in_the_admin_is_audited(admin_client_of: Client, areas: Areas):
    url = f"/admin/accounts/policearea/{areas.police_area.pk}/change/"

    response = admin_client_of.post(
        url, {"name": "天平警务区", "committees": [areas.committee.code]}
    )

    assert response.status_code == 302
    assert list(areas.police_area.committees.values_list("code", flat=True)) == [
        areas.committee.code
    ]
    event = AuditEvent.objects.get(record_type="police_area", detail__field="committees")
    assert event.detail["old"] == [areas.committee.code, areas.sibling.code]
    assert event.detail["new"] == [areas.committee.code]


def test_a_police_area_holds_committees_only(admin_client_of: Client, areas: Areas):
    response = admin_client_of.post(
        "/admin/accounts/policearea/add/",
        {"code": "PA-2", "name": "湖南警务区", "committees": [areas.other_street.code]},
    )

    assert response.status_code == 200
    assert not PoliceArea.objects.filter(code="PA-2").exists()


def test_tokens_are_listed_read_only_and_revoked_with_an_audit(
    admin_client_of: Client, clerk: User
):
    created = api_token_create(user=clerk, name="committee system")
    token = created.token
    url = "/admin/accounts/apitoken/"

    listing = admin_client_of.get(url)
    assert listing.status_code == 200 and token.prefix in listing.content.decode()
    assert admin_client_of.get(f"{url}add/").status_code == 403
    change = admin_client_of.post(f"{url}{token.pk}/change/", {"name": "renamed"})
    assert change.status_code == 403 or ApiToken.objects.get(pk=token.pk).name != "renamed"
    assert created.key not in listing.content.decode()

    admin_client_of.post(url, {"action": "revoke", "_selected_action": [str(token.pk)]})

    token.refresh_from_db()
    assert token.revoked_at is not None
    event = (
        AuditEvent.objects.filter(record_type="api_token", action=Action.ADMIN)
        .order_by("id")
        .last()
    )
    assert event is not None and event.username == "qu_admin"
    assert event.detail["change"] == "token revoked"


# --- the audit log --------------------------------------------------------------------

EVENTS = "/admin/audit/auditevent/"


@pytest.fixture
def event(db: None) -> AuditEvent:
    recorded = audit_record(Action.READ, user=None, username="someone", record_type="person")
    assert recorded is not None
    return recorded


def test_the_audit_log_is_not_in_the_admin_for_anyone(
    admin_client: Client, admin_client_of: Client, auditor: User, event: AuditEvent
):
    """Auditors read the log in the audited, masked /audit/ pages; the admin site offers no
    way to read, change or delete events, even to a superuser."""
    auditor_client = english(Client())
    auditor_client.force_login(auditor)
    for client in (admin_client, admin_client_of, auditor_client):
        assert client.get(EVENTS).status_code == 404
        assert client.get(f"{EVENTS}{event.pk}/change/").status_code == 404
        assert client.post(f"{EVENTS}{event.pk}/delete/", {"post": "yes"}).status_code == 404
    assert "auditevent" not in admin_client.get("/admin/").content.decode()
    assert AuditEvent.objects.filter(pk=event.pk, username="someone").exists()


def test_devices_and_failed_logins_have_no_admin_of_their_own(admin_client: Client):
    # Both are changed through the user admin's actions, which are audited.
    assert admin_client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert admin_client.get("/admin/axes/accessattempt/").status_code == 404


# --- refusals are messages on the form, never a server error (issue 11, finding 14) -----


def test_granting_oneself_a_role_is_a_message_not_a_server_error(
    admin_client_of: Client, district_admin: User, areas: Areas
):
    grant = district_admin.role_grants.get()
    data = change_form(
        district_admin,
        [
            {
                "id": str(grant.pk),
                "user": str(district_admin.pk),
                "role": grant.role,
                "area": grant.area_id,
            },
            {"role": Role.POLICE, "police_area": areas.police_area.code},
        ],
        initial=1,
    )

    response = admin_client_of.post(f"{USERS}{district_admin.pk}/change/", data)

    assert response.status_code == 200
    assert "Nobody may change their own roles" in response.content.decode()
    assert list(district_admin.role_grants.values_list("role", flat=True)) == [Role.DISTRICT_ADMIN]


def test_revoking_the_auditor_in_the_admin_is_a_message(admin_client_of: Client, auditor: User):
    grant = auditor.role_grants.get()
    data = change_form(
        auditor,
        [
            {
                "id": str(grant.pk),
                "user": str(auditor.pk),
                "role": grant.role,
                "area": grant.area_id,
                "DELETE": "on",
            }
        ],
        initial=1,
    )

    response = admin_client_of.post(f"{USERS}{auditor.pk}/change/", data)

    assert response.status_code == 200
    assert "Only a security officer revokes the role" in response.content.decode()
    assert auditor.role_grants.exists()


def test_a_security_officer_granting_an_ordinary_role_gets_a_message(areas: Areas, auditor: User):
    security = make_user("security", Role.SECURITY_OFFICER, area=areas.district)
    client = english(with_second_factor(Client(), security))
    grant = auditor.role_grants.get()
    data = change_form(
        auditor,
        [
            {"id": str(grant.pk), "user": str(auditor.pk), "role": grant.role, "area": "310104"},
            {"role": Role.COLLECTOR, "area": areas.committee.code},
        ],
        initial=1,
    )

    response = client.post(f"{USERS}{auditor.pk}/change/", data)

    assert response.status_code == 200
    assert "A security officer grants and revokes only" in response.content.decode()
    assert list(auditor.role_grants.values_list("role", flat=True)) == [Role.AUDITOR]


def test_a_refusal_on_save_is_a_message_too(
    admin_client_of: Client, areas: Areas, monkeypatch: pytest.MonkeyPatch
):
    """Should a rule refuse only on save (another administrator changed the user between
    the form's check and the save), nothing is saved and the page says why."""
    from renfang.accounts import admin as accounts_admin  # noqa: PLC0415
    from renfang.accounts.services import role_grant_propose  # noqa: PLC0415

    newcomer = make_user("newcomer")

    def refused(**kwargs: Any) -> Any:
        role_grant_propose(**kwargs)
        raise ValidationError("Refused on save.")

    monkeypatch.setattr(accounts_admin, "role_grant_propose", refused)
    response = admin_client_of.post(
        f"{USERS}{newcomer.pk}/change/",
        change_form(newcomer, [{"role": Role.COLLECTOR, "area": areas.committee.code}]),
        follow=True,
    )

    assert response.status_code == 200
    assert "Refused on save." in response.content.decode()
    assert not RoleGrant.objects.filter(user=newcomer).exists()  # rolled back
