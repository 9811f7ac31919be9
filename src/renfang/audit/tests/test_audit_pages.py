"""The audit log pages: only for auditors; search by user, record, date and action; who has
read a record; the Excel export; and looking at the log is itself recorded."""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from renfang.accounts.models import Role
from renfang.audit.models import Action, AuditEvent
from renfang.testing.district import District, build_district
from renfang.testing.users import client_for, user_with_role

EVENTS = reverse("audit:events")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def district(db: None) -> District:
    return build_district()


@pytest.fixture
def clerk(district: District) -> User:
    return user_with_role("clerk", Role.COMMITTEE_CLERK, "310104003001")


@pytest.fixture
def officer(district: District) -> User:
    return user_with_role("officer", Role.DISTRICT_ADMIN, "310104")


@pytest.fixture
def auditor(district: District) -> User:
    return user_with_role("auditor", Role.AUDITOR, "310104")


@pytest.fixture
def auditor_client(auditor: User) -> Client:
    return client_for(auditor)


@pytest.fixture
def activity(clerk: User, officer: User, district: District) -> District:
    """The clerk reads Zhang, shows his ID number in full and tries Smith (another street);
    the officer searches for Zhang's ID number and reads Zhang."""
    clerk_client = client_for(clerk)
    clerk_client.get(reverse("web:person_detail", args=[district.zhang.pk]))
    clerk_client.post(
        reverse("web:person_reveal", args=[district.zhang.pk]),
        {"field": "id_number", "purpose": "核对低保申请"},
    )
    clerk_client.get(reverse("web:person_detail", args=[district.smith.pk]))
    officer_client = client_for(officer)
    officer_client.get(reverse("web:search"), {"q": district.zhang.id_number}, follow=True)
    officer_client.get(reverse("web:person_detail", args=[district.zhang.pk]))
    return district


def shown(response) -> list[tuple[str, str, str, str]]:
    """The rows of an events page: user, action, record type, record id."""
    assert response.status_code == 200
    return [
        (r.event.username, r.event.action, r.event.record_type, r.event.record_id)
        for r in response.context["rows"]
    ]


@pytest.mark.parametrize("who", ["clerk", "officer"])
def test_the_audit_pages_are_not_found_for_anyone_but_auditors(who, request, district):
    user = request.getfixturevalue(who)
    client = client_for(user)
    for url in (
        EVENTS,
        EVENTS + "?user=clerk",
        reverse("audit:events_export"),
        reverse("audit:record", args=["person", district.zhang.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        AuditEvent.objects.filter(
            user_id=user.pk, action=Action.DENIED, record_type="audit"
        ).count()
        == 4
    )


def test_the_audit_pages_need_a_login(client, district):
    response = client.get(EVENTS)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_log_newest_first_with_where_and_why(auditor_client, activity):
    response = auditor_client.get(EVENTS)
    rows = response.context["rows"]
    assert [r.event.pk for r in rows] == sorted((r.event.pk for r in rows), reverse=True)
    html = response.content.decode()
    assert "核对低保申请" in html  # the purpose of the unmask
    assert "127.0.0.1" in html  # from where
    unmask = next(r for r in rows if r.event.action == Action.UNMASK)
    assert unmask.record_url == reverse("audit:record", args=["person", activity.zhang.pk])
    assert unmask.record_url in html


def test_search_by_user(auditor_client, activity):
    rows = shown(auditor_client.get(EVENTS, {"user": "CLERK"}))  # any case
    assert {row[0] for row in rows} == {"clerk"}
    assert ("clerk", Action.UNMASK, "person", str(activity.zhang.pk)) in rows
    assert shown(auditor_client.get(EVENTS, {"user": "nobody-by-this-name"})) == []


def test_search_by_failed_logins_of_a_user(auditor_client, clerk, activity):
    Client().post(reverse("login"), {"username": "clerk", "password": "wrong"})
    rows = shown(auditor_client.get(EVENTS, {"user": "clerk", "action": Action.LOGIN_FAILED}))
    assert rows == [("clerk", Action.LOGIN_FAILED, "user", "clerk")]


def test_search_by_record(auditor_client, activity):
    rows = shown(
        auditor_client.get(EVENTS, {"record_type": "person", "record_id": activity.zhang.pk})
    )
    assert sorted((user, action) for user, action, _t, _i in rows if user != "system") == [
        ("clerk", Action.READ),
        ("clerk", Action.READ),  # the page shown again with the number in full
        ("clerk", Action.UNMASK),
        ("officer", Action.READ),
    ]
    # The fixture made the person through the services: those writes are on record too.
    assert ("system", Action.WRITE, "person", str(activity.zhang.pk)) in rows
    smith = shown(
        auditor_client.get(EVENTS, {"record_type": "person", "record_id": activity.smith.pk})
    )
    assert [row for row in smith if row[0] != "system"] == [
        ("clerk", Action.DENIED, "person", str(activity.smith.pk))
    ]


def test_search_by_action(auditor_client, activity):
    rows = shown(auditor_client.get(EVENTS, {"action": Action.DENIED}))
    assert rows == [("clerk", Action.DENIED, "person", str(activity.smith.pk))]


def test_search_by_date(auditor_client, activity):
    today = timezone.localdate()
    in_range = shown(auditor_client.get(EVENTS, {"date_from": today, "date_to": today}))
    assert len(in_range) >= 6
    yesterday = today - datetime.timedelta(days=1)
    assert shown(auditor_client.get(EVENTS, {"date_to": yesterday})) == []
    tomorrow = today + datetime.timedelta(days=1)
    assert shown(auditor_client.get(EVENTS, {"date_from": tomorrow})) == []


def test_filters_combine(auditor_client, activity):
    rows = shown(
        auditor_client.get(
            EVENTS,
            {"user": "officer", "record_type": "person", "record_id": activity.zhang.pk},
        )
    )
    assert rows == [("officer", Action.READ, "person", str(activity.zhang.pk))]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"record_id": "12"}, "record_type"),  # an id needs its kind
        ({"date_from": "2025-02-01", "date_to": "2025-01-01"}, "date_to"),
        ({"date_from": "2025-02-30"}, "date_from"),
        ({"action": "delete"}, "action"),
        ({"record_type": "person'--"}, "record_type"),
    ],
)
def test_a_bad_search_is_answered_not_crashed(auditor_client, district, query, field):
    response = auditor_client.get(EVENTS, query)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    export = auditor_client.get(reverse("audit:events_export"), query)
    assert export.status_code == 400


def test_pages_of_events_go_older_and_back(auditor_client, activity, monkeypatch):
    monkeypatch.setattr("renfang.web.views.audit.PAGE_SIZE", 2)
    query = {"user": "clerk", "record_type": "person", "record_id": activity.zhang.pk}
    first = auditor_client.get(EVENTS, query)
    first_ids = [r.event.pk for r in first.context["rows"]]
    assert len(first_ids) == 2 and not first.context["newer_url"]
    second = auditor_client.get(EVENTS + first.context["older_url"])
    second_ids = [r.event.pk for r in second.context["rows"]]
    assert len(second_ids) == 1 and max(second_ids) < min(first_ids)
    assert not second.context["older_url"]  # three events of the clerk in all
    back = auditor_client.get(EVENTS + second.context["newer_url"])
    assert [r.event.pk for r in back.context["rows"]] == first_ids
    assert auditor_client.get(EVENTS, {**query, "before": "x"}).status_code == 200


def test_who_has_read_a_person(auditor_client, activity):
    response = auditor_client.get(reverse("audit:record", args=["person", activity.zhang.pk]))
    assert response.status_code == 200
    readers = {r["username"]: (r["reads"], r["unmasks"]) for r in response.context["readers"]}
    assert readers == {"clerk": (2, 1), "officer": (1, 0), "system": (0, 0)}
    html = response.content.decode()
    assert "核对低保申请" in html
    # The writes that created the person name the fields written, never their values
    # (ADR 0018).
    assert activity.zhang.id_number not in html and activity.zhang.name not in html


def test_a_record_nobody_read(auditor_client, district):
    response = auditor_client.get(reverse("audit:record", args=["house", "310104000000000000"]))
    assert response.status_code == 200
    assert response.context["readers"] == [] and response.context["rows"] == []


def test_looking_at_the_log_is_itself_recorded(auditor, auditor_client, activity):
    auditor_client.get(EVENTS, {"user": "clerk"})
    auditor_client.get(reverse("audit:record", args=["person", activity.zhang.pk]))
    looks = AuditEvent.objects.filter(user_id=auditor.pk, action=Action.READ).order_by("id")
    assert [(e.record_type, e.detail) for e in looks] == [
        ("audit", {"terms": {"user": "clerk"}}),
        ("audit", {"record_type": "person", "record_id": str(activity.zhang.pk)}),
    ]


def test_identifiers_in_search_terms_are_fingerprinted_for_the_auditor(auditor_client, activity):
    from renfang.audit.presenter import shown_term

    id_number = activity.zhang.id_number
    response = auditor_client.get(EVENTS, {"user": "officer", "action": Action.IDENTIFY})
    html = response.content.decode()
    assert id_number not in html and id_number[-4:] not in html
    # The identification attempt carries the very fingerprint any other event shows for it.
    assert f"·{shown_term(id_number).split('·')[1]}" in html


def test_the_export_holds_the_search_and_is_audited(auditor, auditor_client, activity):
    response = auditor_client.get(reverse("audit:events_export"), {"user": "clerk"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    assert len(header) == 9
    assert {row[1] for row in rows} == {"clerk"}
    assert any(row[8] == "核对低保申请" for row in rows)
    assert all(activity.zhang.id_number not in " ".join(map(str, row)) for row in rows)
    export = AuditEvent.objects.get(user_id=auditor.pk, action=Action.EXPORT)
    assert export.record_type == "audit"
    assert export.detail == {
        "list": "audit",
        "rows": len(rows),
        "terms": {"user": "clerk"},
        "truncated": False,
    }


def test_the_export_is_capped(auditor_client, activity, monkeypatch):
    monkeypatch.setattr("renfang.web.views.audit.EXPORT_LIMIT", 2)
    monkeypatch.setattr("renfang.web.exports.EXPORT_LIMIT", 2)
    response = auditor_client.get(reverse("audit:events_export"))
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 4  # header, two events, the note that the export was cut


@pytest.mark.parametrize(
    ("detail", "shown"),
    [
        ({"terms": "张伟"}, "terms: text ·"),
        ({"terms": "+86 138 0013 8000"}, "terms: phone ·"),
        ({"terms": "8613800138000"}, "terms: phone ·"),
        ({"terms": "310104198001010017"}, "terms: ID number ·"),
        ({"terms": "e12345678"}, "terms: document or other number ·"),
        ({"terms": "310104003001000001"}, "terms: document or other number ·"),
        ({"terms": "天平路12号"}, "terms: text ·"),
        (
            {"changes": [{"field": "phone", "old": None, "new": "13800138000"}], "rows": 1},
            "changed: phone; rows: 1",
        ),
        (
            {"changes": [{"field": "tag", "old": None, "new": "subsistence_allowance"}]},
            "changed: tag",
        ),
        ({"field": "id_number", "old": "310104198001010015"}, "field: id_number; old: withheld"),
        (
            {"record_type": "person", "record_id": "1234567"},
            "record_type: person; record_id: 1234567",
        ),
        ({"list": "house", "person_ids": [3, 4, 5]}, "list: house; people shown: 3"),
        ({"deleted": 3, "anchor_hash": "ab" * 32}, "deleted: 3"),
        ({}, ""),
    ],
)
def test_details_show_what_was_done_never_the_values(detail, shown):
    from renfang.audit.presenter import detail_text

    with translation.override("en"):
        assert detail_text(detail).startswith(shown)
        assert not any(
            str(value) in detail_text(detail)
            for value in ("13800138000", "310104198001010015", "subsistence_allowance", "张伟")
        )


def test_the_same_number_typed_any_way_has_one_fingerprint():
    from renfang.audit.presenter import shown_term

    phones = {shown_term(t) for t in ("13800138000", "+86 138 0013 8000", "8613800138000")}
    assert len(phones) == 1
    assert shown_term("13800138001") not in phones
