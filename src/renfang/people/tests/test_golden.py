"""Golden records: each field from the first source of the policy that has a value, with its
provenance; identity corrections kept and audited; facts opened and closed; nothing written
twice."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from renfang.audit.models import Action, AuditEvent
from renfang.audit.services import audit_verify
from renfang.people.facts import (
    attribute_record,
    tag_record,
)
from renfang.people.facts.planting import by_hand
from renfang.people.golden import golden_refresh, person_provenance
from renfang.people.models import (
    IdentityRevision,
    Person,
    PersonAttribute,
    PersonTag,
)
from renfang.testing.people import placeholder as person
from renfang.testing.sources import ZHANG_ID, record, zhang

pytestmark = pytest.mark.django_db


def refreshed(*people: Person) -> list[Person]:
    golden_refresh([p.pk for p in people])
    return [Person.objects.get(pk=p.pk) for p in people]


def writes_of(who: Person) -> list[Any]:
    return list(
        AuditEvent.objects.filter(action=Action.WRITE, record_type="person", record_id=str(who.pk))
        .order_by("id")
        .values_list("detail", flat=True)
    )


# ---------------------------------------------------------------- survivorship


def test_police_beats_the_register_which_beats_every_other_source_for_the_name():
    all_three, no_police, others_only = person(), person(), person()
    record(all_three, "health", day=30, name="张卫")
    record(all_three, "register", day=20, name="张玮")
    record(all_three, "police", day=1, name="张伟")  # the oldest, and still authoritative
    record(no_police, "health", day=30, name="李娜")
    record(no_police, "register", day=1, name="李娜娜")
    record(others_only, "education", day=5, name="王芳")
    record(others_only, "health", day=9, name="王芳芳")

    all_three, no_police, others_only = refreshed(all_three, no_police, others_only)

    assert all_three.name == "张伟"
    assert no_police.name == "李娜娜"
    assert others_only.name == "王芳芳"  # "*": the most recently received


def test_marital_status_comes_from_civil_affairs_even_when_another_source_is_newer():
    someone = person()
    record(someone, "civil_affairs", day=1, marital_status="20")
    record(someone, "family_planning", day=60, marital_status="10")

    refreshed(someone)

    assert list(
        PersonAttribute.objects.filter(person=someone, kind="marital_status").values_list(
            "value", flat=True
        )
    ) == ["20"]


def test_a_source_the_policy_does_not_name_serves_only_through_the_star():
    someone = person()
    record(someone, "street_ledger", day=50, employment="retired")
    record(someone, "hrss", day=1, employment="employed")
    record(someone, "health", day=70, employment="unemployed")

    refreshed(someone)

    # hrss first; without it, the most recent of the rest.
    assert PersonAttribute.objects.get(person=someone, kind="employment").value == "employed"
    with by_hand():  # the facts wiped, as if the person were new
        PersonAttribute.all_versions.filter(person=someone).delete()
    someone.source_records.filter(source__code="hrss").delete()
    refreshed(someone)
    assert PersonAttribute.objects.get(person=someone, kind="employment").value == "unemployed"


def test_a_name_that_came_split_is_family_name_then_given_name():
    chinese, latin = person(), person()
    record(chinese, "hrss", family_name="欧阳", given_name="娜娜")
    record(latin, "health", family_name="SMITH", given_name="JOHN")

    chinese, latin = refreshed(chinese, latin)

    assert (chinese.name, latin.name) == ("欧阳娜娜", "SMITH JOHN")


def test_identity_fields_old_ids_and_the_id_type_that_comes_with_the_number():
    someone = person()
    old_id = ZHANG_ID[:6] + ZHANG_ID[8:17]  # the 15-digit form of the same number
    record(someone, "health", day=90, id_type="other", id_number="YB-0001")
    record(someone, "police", day=1, **zhang(id_number=old_id, ethnicity="01"))

    (someone,) = refreshed(someone)

    assert (someone.id_type, someone.id_number) == ("resident_id", ZHANG_ID)
    assert (someone.sex, someone.birth_date) == ("1", datetime.date(1980, 1, 1))
    assert (someone.nationality, someone.ethnicity) == ("CHN", "01")


def test_a_value_that_cannot_be_held_counts_as_unknown():
    someone = person()
    record(someone, "police", day=1, birth_date="1980-02-30", name="张伟")
    record(someone, "register", day=2, birth_date="1980-01-01")

    (someone,) = refreshed(someone)

    assert someone.birth_date == datetime.date(1980, 1, 1)
    assert someone.golden["birth_date"]["source"] == "register"


# ---------------------------------------------------------------- provenance


def test_the_golden_record_knows_each_fields_source_record_and_date():
    someone = person()
    police = record(someone, "police", day=1, **zhang())
    civil = record(someone, "civil_affairs", day=3, marital_status="20", name="張偉")

    (someone,) = refreshed(someone)

    assert someone.golden["name"] == {
        "value": "张伟",
        "source": "police",
        "record": police.pk,
        "as_of": police.received_at.isoformat(),
    }
    assert someone.golden["marital_status"]["record"] == civil.pk
    assert "phone" not in someone.golden  # nobody knows it
    provenance = {item.field: item for item in person_provenance(someone)}
    name = provenance["name"]
    assert (name.value, name.source_code, name.source_name) == ("张伟", "police", "police system")
    assert (name.record_id, name.as_of) == (police.record_id, police.received_at)
    assert [(o.source_code, o.value, o.record_id) for o in name.others] == [
        ("civil_affairs", "張偉", civil.record_id)
    ]
    assert provenance["marital_status"].others == []
    assert str(provenance["hukou_division"].label) == "户籍地区划"


def test_provenance_of_a_person_the_refresh_has_not_seen_follows_the_policy():
    someone = person(name="李娜", sex="2")
    register = record(someone, "register", day=1, name="李娜", phone="13812345678")
    record(someone, "health", day=9, phone="13900000000")

    provenance = {item.field: item for item in person_provenance(someone)}

    assert provenance["phone"].value == "13812345678"
    assert provenance["phone"].record_pk == register.pk
    assert [o.value for o in provenance["phone"].others] == ["13900000000"]


def test_provenance_of_a_merged_away_person_is_the_survivors():
    survivor, gone = person(), person()
    record(survivor, "police", name="张伟")
    refreshed(survivor)
    gone.merged_into = survivor
    with by_hand():  # merged by hand, its records left behind
        gone.save()

    assert [item.value for item in person_provenance(gone) if item.field == "name"] == ["张伟"]


# ---------------------------------------------------------------- writes, audit, revisions


def test_a_corrected_identity_field_keeps_its_old_value_and_is_audited():
    someone = person(name="张玮", sex="1", birth_date=datetime.date(1980, 1, 2))
    record(someone, "register", day=1, name="张玮", birth_date="1980-01-02")
    record(someone, "police", day=5, **zhang())

    (someone,) = refreshed(someone)

    assert (someone.name, someone.birth_date) == ("张伟", datetime.date(1980, 1, 1))
    revisions = {
        r.field: (r.old_value, r.new_value, r.reason)
        for r in IdentityRevision.objects.filter(person=someone)
    }
    assert revisions["name"] == ("张玮", "张伟", "golden record: police")
    assert revisions["birth_date"] == ("1980-01-02", "1980-01-01", "golden record: police")
    assert "id_number" not in revisions  # filled in, not corrected
    (event,) = writes_of(someone)
    lines = {line["field"]: line for line in event["changes"]}
    assert lines["name"] == {"field": "name", "old": "张玮", "new": "张伟", "source": "police"}
    assert lines["id_number"]["old"] is None
    assert event["source"] == "golden record"
    assert audit_verify().ok


def test_a_second_refresh_writes_nothing():
    someone = person()
    record(someone, "police", day=1, **zhang())
    record(someone, "civil_affairs", day=2, marital_status="20", tags="elderly_alone")
    record(someone, "family_planning", day=3, marital_status="10")
    record(someone, "health", day=4, phone="+86 138 1234 5678", education="20")
    first = golden_refresh([someone.pk])
    events = AuditEvent.objects.count()
    stamp = Person.objects.get(pk=someone.pk).updated_at

    second = golden_refresh([someone.pk])

    # phone, marital status, education, a tag, and the police hukou (no register record)
    assert first.changed == 1 and first.facts_added == 5 and first.conflicts_opened == 1
    assert (second.changed, second.audited, second.facts_added, second.facts_closed) == (0, 0, 0, 0)
    assert (second.conflicts_opened, second.conflicts_settled) == (0, 0)
    assert AuditEvent.objects.count() == events
    assert Person.objects.get(pk=someone.pk).updated_at == stamp


def test_a_merged_away_person_is_left_alone():
    survivor, gone = person(), person(name="旧")
    record(survivor, "police", name="张伟")
    gone.merged_into = survivor
    with by_hand():  # merged by hand, its records left behind
        gone.save()

    report = golden_refresh([survivor.pk, gone.pk])

    assert (report.persons, report.merged_away, report.changed) == (2, 1, 1)
    assert Person.objects.get(pk=gone.pk).name == "旧"


def test_an_id_number_another_person_holds_is_not_taken():
    holder = person(id_type="resident_id", id_number=ZHANG_ID, name="张伟")
    other = person(name="张伟")
    record(other, "police", **zhang())

    report = golden_refresh([other.pk])

    other.refresh_from_db()
    assert report.id_collisions == [other.pk]
    assert (other.id_type, other.id_number, other.name) == ("", "", "张伟")
    assert "id_number" not in other.golden
    assert Person.objects.get(pk=holder.pk).id_number == ZHANG_ID


# ---------------------------------------------------------------- facts


def today() -> datetime.date:
    return timezone.localdate()


def test_a_changed_attribute_closes_the_open_fact_the_day_before_and_opens_a_new_one():
    someone = person()
    civil = record(someone, "civil_affairs", day=1, marital_status="10")
    refreshed(someone)
    (first,) = PersonAttribute.objects.filter(person=someone, kind="marital_status")
    assert (first.value, first.valid_from, first.valid_to) == ("10", None, None)

    civil.mapped = {"marital_status": "20"}
    civil.save()
    refreshed(someone)

    facts = list(
        PersonAttribute.objects.filter(person=someone, kind="marital_status")
        .order_by("pk")
        .values_list("value", "valid_from", "valid_to")
    )
    yesterday = today() - datetime.timedelta(days=1)
    assert facts == [("10", None, yesterday), ("20", today(), None)]


def test_phones_are_kept_in_one_form_and_an_equal_phone_changes_nothing():
    someone = person()
    attribute_record(person=someone, kind="phone", value="13812345678", valid_from=None)
    record(someone, "health", phone="+86 138-1234-5678")

    report = golden_refresh([someone.pk])

    assert report.facts_added == 0
    assert PersonAttribute.objects.filter(person=someone, kind="phone").count() == 1


def test_tags_follow_the_source_and_tags_recorded_by_hand_stay():
    someone = person()
    tag_record(person=someone, tag="disabled", valid_from=datetime.date(2020, 1, 1))
    civil = record(someone, "civil_affairs", tags="elderly_alone subsistence_allowance")
    refreshed(someone)
    assert set(PersonTag.objects.filter(person=someone).values_list("tag", "note")) == {
        ("disabled", ""),
        ("elderly_alone", "source: civil_affairs"),
        ("subsistence_allowance", "source: civil_affairs"),
    }

    civil.mapped = {"tags": "elderly_alone"}
    civil.save()
    refreshed(someone)

    open_tags = PersonTag.objects.filter(person=someone, valid_to__isnull=True)
    assert set(open_tags.values_list("tag", flat=True)) == {"disabled", "elderly_alone"}
    assert PersonTag.objects.get(person=someone, tag="subsistence_allowance").valid_to == (
        today() - datetime.timedelta(days=1)
    )


def test_values_with_quotes_backslashes_and_control_characters_are_not_rewritten():
    someone = person()
    record(someone, "health", name='O"Brien \\ 李\t', residence_address="路\n1号 ✓ \U0001f3e0")
    golden_refresh([someone.pk])

    second = golden_refresh([someone.pk])

    assert second.changed == 0
    assert Person.objects.get(pk=someone.pk).golden["name"]["value"] == 'O"Brien \\ 李\t'


def test_a_resident_id_that_cannot_be_one_is_not_taken_even_from_the_police():
    someone = person()
    typo = ZHANG_ID[:6] + "9" + ZHANG_ID[7:]  # birth year 9980: no such number
    record(someone, "police", day=9, **zhang(id_number=typo))
    record(someone, "register", day=1, **zhang())

    (someone,) = refreshed(someone)

    assert someone.id_number == ZHANG_ID
    assert someone.golden["id_number"]["source"] == "register"
    assert someone.golden["name"]["source"] == "police"  # the rest of it still counts
