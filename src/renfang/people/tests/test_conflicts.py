"""Conflicts: another source's different value of a conflict field, found by the golden
record, listed per area for the street office, settled or sent for a visit by a person (and
audited), settled by itself when the sources come to agree."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from renfang.audit.models import Action, AuditEvent
from renfang.people.conflicts import conflict_get_for_user, conflict_settle, conflicts_for_user
from renfang.people.facts.planting import by_hand
from renfang.people.golden import golden_refresh
from renfang.people.models import Conflict, ConflictStatus, Person
from renfang.testing.matrix import World, build_world
from renfang.testing.people import placeholder as person
from renfang.testing.sources import record, zhang

pytestmark = pytest.mark.django_db


def conflicts_of(who: Person) -> list[tuple[str, str, str, str, str, str]]:
    return sorted(
        Conflict.objects.filter(person=who).values_list(
            "field", "golden_value", "golden_source", "other_value", "other_source", "status"
        )
    )


def test_a_source_that_disagrees_with_the_authoritative_one_is_a_conflict_once():
    someone = person()
    record(someone, "civil_affairs", day=1, marital_status="20")
    planning = record(someone, "family_planning", day=2, marital_status="10")
    record(someone, "health", day=3, marital_status="20")  # agrees

    golden_refresh([someone.pk])
    golden_refresh([someone.pk])

    assert conflicts_of(someone) == [
        ("marital_status", "20", "civil_affairs", "10", "family_planning", "open")
    ]
    assert Conflict.objects.get(person=someone).other_record == planning


def test_typing_differences_and_stale_fields_are_no_conflict():
    someone = person()
    record(someone, "police", day=1, **zhang(name="阿依古丽·买买提", hukou_division="310104003"))
    record(
        someone,
        "register",
        day=2,
        **zhang(
            name="阿依古麗買買提",  # traditional characters, no middle dot
            hukou_division="310104003001",  # the same hukou, to the committee
            id_number=zhang()["id_number"].lower(),
            sex="9",  # not stated
            phone="13900000000",  # phones and addresses go stale: never a conflict
            residence_division="310104004001",
        ),
    )
    record(someone, "health", day=3, phone="13811111111", residence_division="310104003001")

    golden_refresh([someone.pk])

    assert conflicts_of(someone) == []


def test_an_identity_conflict_names_both_sources():
    someone = person()
    record(someone, "police", day=1, **zhang())
    record(someone, "register", day=2, **zhang(name="张玮", birth_date="1980-01-02"))

    golden_refresh([someone.pk])

    assert conflicts_of(someone) == [
        ("birth_date", "1980-01-01", "police", "1980-01-02", "register", "open"),
        ("name", "张伟", "police", "张玮", "register", "open"),
    ]


def test_a_conflict_settles_itself_when_the_sources_come_to_agree():
    someone = person()
    record(someone, "civil_affairs", day=1, marital_status="20")
    planning = record(someone, "family_planning", day=2, marital_status="10")
    golden_refresh([someone.pk])

    planning.mapped = {"marital_status": "20"}
    planning.save()
    with translation.override("en"):
        report = golden_refresh([someone.pk])

    conflict = Conflict.objects.get(person=someone)
    assert report.conflicts_settled == 1
    assert (conflict.status, conflict.note) == ("settled", "the sources now agree")
    assert conflict.settled_by is None and conflict.settled_at is not None
    (event,) = AuditEvent.objects.filter(
        record_type="person", record_id=str(someone.pk), detail__source="golden record"
    ).order_by("-id")[:1]
    assert event.detail["changes"][0]["field"] == "conflict.marital_status"


def test_a_record_that_left_the_person_settles_its_conflicts():
    someone, other = person(), person()
    record(someone, "civil_affairs", day=1, marital_status="20")
    planning = record(someone, "family_planning", day=2, marital_status="10")
    golden_refresh([someone.pk])

    planning.person = other  # a split moved it
    planning.save()
    with translation.override("en"):
        golden_refresh([someone.pk, other.pk])

    conflict = Conflict.objects.get(person=someone)
    assert (conflict.status, conflict.note) == (
        "settled",
        "the record no longer belongs to this person",
    )
    assert not Conflict.objects.filter(person=other).exists()


def test_the_conflicts_of_a_merged_away_person_are_settled():
    someone, survivor = person(), person()
    record(someone, "civil_affairs", day=1, marital_status="20")
    planning = record(someone, "family_planning", day=2, marital_status="10")
    golden_refresh([someone.pk])

    someone.merged_into = survivor
    with by_hand():  # merged by hand: the records move, the conflicts stay behind
        someone.save()
    someone.source_records.update(person=survivor)  # a merge moves the records
    with translation.override("en"):
        golden_refresh([survivor.pk])  # as linkage calls it: the survivor only

    assert Conflict.objects.get(person=someone).note == (
        f"the person was merged into person {survivor.pk}"
    )
    (moved,) = Conflict.objects.filter(person=survivor)
    assert (moved.other_record, moved.status) == (planning, "open")


# ---------------------------------------------------------------- people settle them


@pytest.fixture
def world(settings) -> World:
    # The real password hasher takes a third of a second on purpose; nobody logs in here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world()


def conflict_for(world: World, key: str, **mapped: str) -> Conflict:
    """A marital-status (or other) conflict of a planted person."""
    planted = world.planted[key].person
    record(planted, "civil_affairs", day=1, marital_status="20")
    record(planted, "family_planning", day=2, marital_status="10", **mapped)
    golden_refresh([planted.pk])
    return Conflict.objects.get(person=planted, field="marital_status")


def test_a_street_officer_settles_a_conflict_with_a_note_and_it_is_audited(world):
    conflict = conflict_for(world, "A1")
    officer = world.users["street_officer"]

    with pytest.raises(ValueError, match="Say how"), translation.override("en"):
        conflict_settle(conflict, user=officer, status="settled", note="  ")
    with pytest.raises(ValueError), translation.override("en"):
        conflict_settle(conflict, user=officer, status="open", note="no")
    conflict_settle(conflict, user=officer, status="settled", note="民政登记为准,已核实")

    conflict.refresh_from_db()
    assert (conflict.status, conflict.note, conflict.settled_by) == (
        "settled",
        "民政登记为准,已核实",
        officer,
    )
    event = AuditEvent.objects.filter(action=Action.WRITE, user_id=officer.pk).get()
    assert (event.record_type, event.record_id) == ("person", str(conflict.person_id))
    assert event.detail["changes"] == [
        {
            "field": "conflict.marital_status",
            "old": {"status": "open", "note": "", "conflict": conflict.pk},
            "new": {"status": "settled", "note": "民政登记为准,已核实", "conflict": conflict.pk},
        }
    ]
    # The next refresh leaves a settled conflict settled while the values stay the same...
    golden_refresh([conflict.person_id])
    conflict.refresh_from_db()
    assert conflict.status == "settled"
    # ...and opens it again when the other source says something new.
    other = conflict.other_record
    other.mapped = {"marital_status": "40"}
    other.save()
    golden_refresh([conflict.person_id])
    conflict.refresh_from_db()
    assert (conflict.status, conflict.other_value, conflict.note) == ("open", "40", "")


def test_a_conflict_is_sent_for_a_visit_without_a_note(world):
    conflict = conflict_for(world, "A1")

    conflict_settle(conflict, user=world.users["committee_clerk"], status="visit", note="")

    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.VISIT
    # A visit pending is not undone by the next refresh.
    golden_refresh([conflict.person_id])
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.VISIT


@pytest.mark.parametrize("role", ["collector", "police", "department_reader", "no_role"])
def test_roles_without_the_power_may_not_settle(world, role):
    conflict = conflict_for(world, "A1")

    with pytest.raises(PermissionDenied):
        conflict_settle(conflict, user=world.users[role], status="visit", note="")

    conflict.refresh_from_db()
    assert conflict.status == "open"


def test_a_conflict_outside_the_area_is_not_found_and_the_attempt_audited(world):
    conflict = conflict_for(world, "B1")
    officer = world.users["street_officer"]  # street A; B1 is in street B

    with pytest.raises(Conflict.DoesNotExist):
        conflict_get_for_user(officer, conflict.pk)
    with pytest.raises(Conflict.DoesNotExist):
        conflict_get_for_user(officer, 999_999)
    with pytest.raises(PermissionDenied):
        conflict_settle(conflict, user=officer, status="visit", note="")

    denied = AuditEvent.objects.filter(action=Action.DENIED, user_id=officer.pk)
    assert list(denied.values_list("record_type", "record_id")) == [("conflict", str(conflict.pk))]
    assert conflict_get_for_user(world.users["district_admin"], conflict.pk) == conflict


def test_each_user_lists_the_conflicts_of_their_area_and_granted_fields(world):
    by_key = {key: conflict_for(world, key, name="某某") for key in ("A1", "A2", "B1")}
    names = {}
    for key in ("A1", "A2", "B1"):
        planted = world.planted[key].person
        record(planted, "police", day=0, name=planted.name)
        golden_refresh([planted.pk])
        names[key] = Conflict.objects.get(person=planted, field="name")

    def listed(role: str, **filters: str) -> set[Conflict]:
        return set(conflicts_for_user(world.users[role], **filters))

    assert listed("district_admin", field="marital_status") == set(by_key.values())
    assert listed("street_officer", field="marital_status") == {by_key["A1"], by_key["A2"]}
    assert listed("committee_clerk") == {by_key["A1"], names["A1"]}
    # A department reader granted names (not marital status) sees only name conflicts.
    assert listed("department_reader") == {names["A1"]}
    assert listed("auditor") == listed("no_role") == set()
    conflict_settle(
        by_key["A1"], user=world.users["committee_clerk"], status="settled", note="已核实"
    )
    assert listed("committee_clerk", status="open") == {names["A1"]}
    assert listed("committee_clerk", status="settled") == {by_key["A1"]}


def test_another_kind_of_document_is_no_conflict_but_a_bad_id_number_is():
    someone = person()
    record(someone, "register", day=1, **zhang())
    record(someone, "hrss", day=2, id_type="other", id_number="SB-0863514241", name="张伟")
    typo = zhang()["id_number"][:6] + "9" + zhang()["id_number"][7:]
    record(someone, "police", day=3, **zhang(id_number=typo))

    golden_refresh([someone.pk])

    assert conflicts_of(someone) == [
        ("id_number", zhang()["id_number"], "register", typo, "police", "open")
    ]


def test_a_code_that_says_more_of_the_same_is_no_conflict():
    someone = person()
    record(someone, "civil_affairs", day=1, marital_status="20", education="20")  # married
    record(someone, "family_planning", day=2, marital_status="22")  # remarried: married too
    record(someone, "health", day=3, marital_status="10", education="21")  # never married

    golden_refresh([someone.pk])

    assert conflicts_of(someone) == [
        ("marital_status", "20", "civil_affairs", "10", "health", "open")
    ]
