"""``renfang resolve`` on a few made-up people whose records departments spoiled in the ways
DOMAIN.md lists: who is linked, by which rule, and what is kept apart."""

from __future__ import annotations

import pytest

from renfang.audit.models import AuditEvent
from renfang.exchange.models import Event
from renfang.linkage.models import PersonMerge, ResolveRun, ReviewPair
from renfang.linkage.resolve import resolve
from renfang.linkage.tests.conftest import (
    AYGUL,
    CHEN_HUA,
    FATHER,
    LI_NA,
    SHAN_YING,
    TWIN_A,
    TWIN_B,
    ZHANG_WEI,
    Make,
    person_of,
    rule_of,
    zhang,
)
from renfang.people.facts import (
    residence_record,
)
from renfang.people.models import IdentityRevision, Person
from renfang.sources.models import SourceRecord

pytestmark = pytest.mark.django_db


def _resident(id_number: str, name: str, sex: str, birth: str, **more: str) -> dict[str, str]:
    return {
        "id_type": "resident_id",
        "id_number": id_number,
        "name": name,
        "sex": sex,
        "birth_date": birth,
        **more,
    }


WANG_HOME = {
    "phone": "13900001111",
    "residence_division": "310104003002",
    "residence_address": "永嘉路12弄5号",
    "hukou_division": "310104003",
}


@pytest.fixture
def street(record: Make) -> None:
    """Police and health records of eight people (and a twin), all with valid IDs."""
    zhang(record, "police", "p-zhang")
    zhang(record, "health", "h-zhang")
    record("police", "p-li", **_resident(LI_NA, "李娜", "2", "1985-03-15", phone="13700002222"))
    record("health", "h-li", **_resident(LI_NA, "李娜", "2", "1985-03-15"))
    record("police", "p-chen", **_resident(CHEN_HUA, "陈华", "1", "1970-02-02"))
    record("health", "h-chen", **_resident(CHEN_HUA, "陈华", "1", "1970-02-02"))
    record("police", "p-shan", **_resident(SHAN_YING, "单英", "2", "1990-11-11"))
    record("police", "p-aygul", **_resident(AYGUL, "阿依古丽·买买提", "2", "1992-09-09"))
    record("health", "h-aygul", **_resident(AYGUL, "阿依古丽·买买提", "2", "1992-09-09"))
    for key, number, name in (("a", TWIN_A, "王一鸣"), ("b", TWIN_B, "王一鹏")):
        record("police", f"p-twin-{key}", **_resident(number, name, "1", "2005-06-06", **WANG_HOME))
        record("health", f"h-twin-{key}", **_resident(number, name, "1", "2005-06-06", **WANG_HOME))
    record("police", "p-father", **_resident(FATHER, "王建国", "1", "1975-07-07", **WANG_HOME))


def test_records_with_an_equal_valid_id_are_one_person(street: None) -> None:
    run = resolve()

    assert person_of("police", "p-zhang") == person_of("health", "h-zhang")
    assert rule_of("police", "p-zhang") == rule_of("health", "h-zhang") == "id"
    assert person_of("police", "p-li") != person_of("police", "p-zhang")
    assert rule_of("police", "p-shan") == "singleton"
    assert run.records == 14
    assert run.linked_by_id == 12
    assert run.new_persons == 8
    zhang_person = Person.objects.get(pk=person_of("police", "p-zhang"))
    assert (zhang_person.id_number, zhang_person.name) == (ZHANG_WEI, "张伟")


def test_twins_and_their_father_stay_apart(street: None) -> None:
    resolve()

    twins = {person_of("police", "p-twin-a"), person_of("police", "p-twin-b")}
    assert len(twins) == 2
    assert person_of("police", "p-father") not in twins
    assert person_of("health", "h-twin-a") == person_of("police", "p-twin-a")


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"id_number": "", "name": "張偉"}, "no ID, traditional characters"),
        ({"id_number": "", "name": "张玮"}, "no ID, a homophone typed"),
        ({"id_number": ZHANG_WEI[:10] + "9" + ZHANG_WEI[11:]}, "one wrong digit"),
        ({"id_number": ZHANG_WEI[:14] + ZHANG_WEI[15] + ZHANG_WEI[14] + ZHANG_WEI[16:]}, "swap"),
        ({"id_number": ZHANG_WEI[:17] + ("0" if ZHANG_WEI[17] != "0" else "1")}, "check digit"),
        ({"id_number": ZHANG_WEI[:6] + ZHANG_WEI[8:17]}, "the old 15-digit number"),
        ({"id_number": "", "phone": "+86 138-1234-5678", "birth_date": "1980-01-10"}, "date"),
    ],
)
def test_a_spoiled_record_is_linked_by_weights(
    street: None, record: Make, changes: dict[str, str], why: str
) -> None:
    zhang(record, "civil_affairs", "c-zhang", **changes)

    resolve()

    assert person_of("civil_affairs", "c-zhang") == person_of("police", "p-zhang"), why


def test_the_old_15_digit_number_is_an_id_link(street: None, record: Make) -> None:
    zhang(record, "civil_affairs", "c-zhang", id_number=ZHANG_WEI[:6] + ZHANG_WEI[8:17])

    resolve()

    assert rule_of("civil_affairs", "c-zhang") == "id"


def test_a_link_by_weights_says_which_fields_agreed(street: None, record: Make) -> None:
    zhang(record, "civil_affairs", "c-zhang", id_number="", name="張偉")

    resolve()

    linked = SourceRecord.objects.get(record_id="c-zhang")
    assert linked.link_rule == "probabilistic"
    detail = linked.link_detail
    assert detail["probability"] >= 0.99
    assert detail["with"] in set(
        SourceRecord.objects.filter(record_id__in=["p-zhang", "h-zhang"]).values_list(
            "pk", flat=True
        )
    )
    assert detail["weights"]["name"]["level"] == "same characters"
    assert detail["weights"]["birth_date"]["level"] == "same"
    assert detail["weights"]["id_number"]["level"] == "unknown"
    assert detail["weights"]["name"]["weight"] > 0


@pytest.mark.parametrize(
    ("name", "why"),
    [("單英", "traditional"), ("善英", "单 read as a surname: shan"), ("单 英", "a space")],
)
def test_surname_readings_and_traditional_names_link(
    street: None, record: Make, name: str, why: str
) -> None:
    record("health", "h-shan", name=name, sex="2", birth_date="1990-11-11")

    resolve()

    assert person_of("health", "h-shan") == person_of("police", "p-shan"), why


def test_a_minority_name_without_its_middle_dot_links(street: None, record: Make) -> None:
    record("civil_affairs", "c-aygul", name="阿依古丽买买提", sex="2", birth_date="1992-09-09")

    resolve()

    assert person_of("civil_affairs", "c-aygul") == person_of("police", "p-aygul")


def test_a_twin_without_an_id_goes_to_the_right_twin(street: None, record: Make) -> None:
    record("education", "e-twin-b", name="王一鹏", sex="1", birth_date="2005-06-06", **WANG_HOME)

    resolve()

    assert person_of("education", "e-twin-b") == person_of("police", "p-twin-b")


def test_a_record_with_a_family_members_id_is_taken_out(street: None, record: Make) -> None:
    # The clerk typed the father's ID on twin B's record.
    record(
        "education",
        "e-twin-b",
        **_resident(FATHER, "王一鹏", "1", "2005-06-06", **WANG_HOME),
    )

    run = resolve()

    assert person_of("education", "e-twin-b") == person_of("police", "p-twin-b")
    assert person_of("police", "p-father") != person_of("police", "p-twin-b")
    assert run.model["counts"]["taken_out"] == 1
    detail = SourceRecord.objects.get(record_id="e-twin-b").link_detail
    assert detail["id_set_aside"] == "foreign"
    assert detail["weights"]["id_number"]["level"] == "unknown"


def test_a_number_on_someone_elses_record_stays_its_owners_and_the_audit_says_so(
    street: None, record: Make
) -> None:
    # A son known only to education, with his father's ID typed on his record.
    record("education", "e-wang-xiao", **_resident(FATHER, "王小明", "1", "2015-03-03"))

    resolve()

    father = Person.objects.get(pk=person_of("police", "p-father"))
    son = Person.objects.get(pk=person_of("education", "e-wang-xiao"))
    assert father.pk != son.pk
    assert (father.id_number, father.name) == (FATHER, "王建国")
    assert (son.id_number, son.name) == ("", "王小明")
    said = [
        line
        for event in AuditEvent.objects.filter(record_type="person", record_id=str(father.pk))
        for line in event.detail.get("changes", [])
    ]
    assert {"field": "id_number", "old": None, "new": FATHER} in said
    assert {"field": "name", "old": None, "new": "王建国", "source": "police"} in said


def test_a_stranger_without_an_id_gets_a_person_of_their_own(street: None, record: Make) -> None:
    record("hrss", "s-1", id_type="other", id_number="SS-1", name="赵敏", birth_date="1995-05-05")
    record("health", "h-zhao", id_type="other", id_number="ss1", name="赵敏", sex="2")

    resolve()

    assert person_of("hrss", "s-1") == person_of("health", "h-zhao")
    assert rule_of("hrss", "s-1") == "identifier"
    assert person_of("hrss", "s-1") not in {
        person_of("police", code) for code in ("p-zhang", "p-li", "p-shan")
    }


def test_a_pair_between_the_thresholds_goes_to_review(
    street: None, record: Make, settings: pytest.FixtureRequest
) -> None:
    settings.RENFANG_LINK_THRESHOLD = 0.999999  # type: ignore[attr-defined]
    settings.RENFANG_REVIEW_THRESHOLD = 0.5  # type: ignore[attr-defined]
    # Same sound, same year, another day and nothing else to go by.
    record("civil_affairs", "c-li", name="李纳", sex="2", birth_date="1985-03-16")

    run = resolve()

    pair = ReviewPair.objects.get()
    ids = {pair.left.record_id, pair.right.record_id}
    assert "c-li" in ids
    assert ids & {"p-li", "h-li"}
    assert 0.5 <= pair.probability < 0.999999
    assert pair.weights["name"]["level"] == "same pinyin"
    assert person_of("civil_affairs", "c-li") != person_of("police", "p-li")
    assert run.to_review == 1


def test_a_second_run_changes_nothing(street: None, record: Make) -> None:
    zhang(record, "civil_affairs", "c-zhang", id_number="", name="張偉")
    first = resolve()
    links = sorted(SourceRecord.objects.values_list("pk", "person_id", "link_rule", "link_detail"))
    events = AuditEvent.objects.count()

    second = resolve()

    assert first.changed_links == 15
    assert (second.changed_links, second.new_persons) == (0, 0)
    assert second.model["counts"]["merged_persons"] == 0
    assert (
        sorted(SourceRecord.objects.values_list("pk", "person_id", "link_rule", "link_detail"))
        == links
    )
    assert AuditEvent.objects.count() == events + 1  # the run itself
    assert ResolveRun.objects.count() == 2


def test_person_ids_are_stable_when_records_arrive(street: None, record: Make) -> None:
    resolve()
    before = {code: person_of("police", code) for code in ("p-zhang", "p-li", "p-chen")}

    zhang(record, "civil_affairs", "c-zhang", id_number="", name="張偉")
    record("hrss", "s-li", **_resident(LI_NA, "李娜", "2", "1985-03-15"))
    run = resolve()

    assert {code: person_of("police", code) for code in before} == before
    assert person_of("civil_affairs", "c-zhang") == before["p-zhang"]
    assert person_of("hrss", "s-li") == before["p-li"]
    assert run.new_persons == 0
    assert run.changed_links == 2


def test_a_person_left_without_records_is_merged_into_the_survivor(
    street: None, record: Make
) -> None:
    # A record too spoiled to link: a person of its own, until its department corrects it.
    lost = record("civil_affairs", "c-chen", name="陈化", sex="1", birth_date="1907-02-02")
    resolve()
    lonely = person_of("civil_affairs", "c-chen")
    kept = person_of("police", "p-chen")
    assert lonely != kept

    # The corrected record arrives (a re-import keeps its link: resolve decides).
    SourceRecord.objects.filter(pk=lost.pk).update(
        mapped=_resident(CHEN_HUA, "陈华", "1", "1970-02-02")
    )
    run = resolve()

    assert person_of("civil_affairs", "c-chen") == kept
    gone = Person.objects.get(pk=lonely)
    assert gone.merged_into_id == kept
    merge = PersonMerge.objects.get(merged=gone)
    assert (merge.survivor_id, merge.kind, merge.reason, merge.by) == (
        kept,
        "merge",
        "resolve",
        None,
    )
    assert merge.records == [lost.pk]
    assert run.model["counts"]["merged_persons"] == 1
    told = AuditEvent.objects.filter(record_type="person", record_id=str(lonely)).latest("pk")
    assert told.detail["changes"] == [{"field": "merged_into", "old": None, "new": kept}]
    assert (told.detail["records"], told.detail["source"]) == ([lost.pk], "resolve")
    # The merges are written last, with the run's own event: the chain's head is locked at
    # the end of the run, not from its first stage.
    last = list(AuditEvent.objects.order_by("-pk")[:3])
    assert [(event.record_type, event.record_id) for event in reversed(last)] == [
        ("person", str(lonely)),
        ("person", str(kept)),
        ("resolve", str(run.pk)),
    ]


def test_resolve_is_audited(street: None) -> None:
    run = resolve()

    event = AuditEvent.objects.get(record_type="resolve")
    assert event.record_id == str(run.pk)
    assert event.username == "system"
    assert event.detail["new_persons"] == 8
    created = AuditEvent.objects.filter(record_type="person", detail__source="resolve")
    assert created.count() == 8
    # Who each new person is: the number linkage made it with, in the run's event of its
    # creation; the rest, as the golden refresh wrote it, in the refresh's event.
    li = person_of("police", "p-li")
    said = {
        line["field"]: (line["old"], line["new"])
        for event in AuditEvent.objects.filter(record_type="person", record_id=str(li))
        for line in event.detail.get("changes", [])
    }
    assert said == {
        "id_type": (None, "resident_id"),
        "id_number": (None, LI_NA),
        "name": (None, "李娜"),
        "sex": (None, "2"),
        "birth_date": (None, "1985-03-15"),
        "phone": (None, "13700002222"),
    }
    made = AuditEvent.objects.get(record_type="person", record_id=str(li), detail__created=True)
    assert {line["field"] for line in made.detail["changes"]} == {"id_type", "id_number"}
    assert not IdentityRevision.objects.exists()  # nothing was corrected: first known
    # The subscriber learns who they are from the same lines, in the person's first event.
    first = Event.objects.filter(person_id=li).order_by("seq").first()
    assert first is not None
    assert {line["field"] for line in first.changes} >= {"name", "id_number", "birth_date"}
    # What the golden records took, beside the run's own stages: most of a first run.
    assert {"read", "choose", "plan", "write persons"} <= set(run.model["golden_stages"])
    assert run.model["stages"]["golden"] >= 0


def test_an_empty_register_resolves_to_nothing(db: None) -> None:
    run = resolve()

    assert (run.records, run.new_persons, run.changed_links) == (0, 0, 0)


def test_a_mass_change_checks_the_person_key_in_one_pass_and_keeps_the_index_usable(
    street: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index rebuilt in the run's transaction would be unusable until it commits
    (``indcheckxmin``): the golden refresh in it would scan all records for every chunk."""
    from django.db import connection  # noqa: PLC0415

    from renfang.linkage.resolve import write  # noqa: PLC0415

    if connection.vendor != "postgresql":
        pytest.skip("the mass path is for PostgreSQL")
    monkeypatch.setattr(write, "_MASS_MINIMUM", 0)

    resolve()

    assert person_of("police", "p-zhang") == person_of("health", "h-zhang")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'sources_sourcerecord' "
            "AND indexdef LIKE '%%(person_id)'"
        )
        assert cursor.fetchone()[0] == 1
        cursor.execute(
            "SELECT i.indcheckxmin FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = 'sources_sourcerecord'::regclass AND a.attname = 'person_id'"
        )
        assert cursor.fetchall() == [(False,)]
        cursor.execute(
            "SELECT convalidated FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid = 'sources_sourcerecord'::regclass AND conname LIKE '%%person_id%%'"
        )
        assert cursor.fetchall() == [(True,)]


def test_a_mistyped_number_that_passes_the_check_is_not_an_anchor(
    street: None, record: Make
) -> None:
    from renfang.people.idnumbers import with_check_digit  # noqa: PLC0415

    typo = with_check_digit(ZHANG_WEI[:3] + "9" + ZHANG_WEI[4:17])  # valid, nobody's
    zhang(record, "hrss", "s-zhang", id_number=typo)

    resolve()

    assert person_of("hrss", "s-zhang") == person_of("police", "p-zhang")
    detail = SourceRecord.objects.get(record_id="s-zhang").link_detail
    assert detail["id_set_aside"] == "mistyped"
    assert detail["weights"]["id_number"]["level"] == "one digit differs or two swapped"


def test_a_person_merged_by_resolve_is_in_the_spells_once_with_its_past(
    street: None, record: Make
) -> None:
    import datetime  # noqa: PLC0415

    from renfang.people.facts import spells_rebuild_for  # noqa: PLC0415
    from renfang.stats.models import PopulationSpell  # noqa: PLC0415

    lost = record("civil_affairs", "c-chen", name="陈化", sex="1", birth_date="1907-02-02")
    resolve()
    lonely, kept = person_of("civil_affairs", "c-chen"), person_of("police", "p-chen")
    # The lonely person lived in the next committee before: the survivor's spells must say so.
    residence_record(
        person=Person.objects.get(pk=lonely),
        division="310104003002",
        valid_from=datetime.date(2015, 1, 1),
        valid_to=datetime.date(2019, 12, 31),
    )
    residence_record(
        person=Person.objects.get(pk=kept),
        division="310104003001",
        valid_from=datetime.date(2020, 1, 1),
    )
    spells_rebuild_for([lonely, kept])
    SourceRecord.objects.filter(pk=lost.pk).update(
        mapped=_resident(CHEN_HUA, "陈华", "1", "1970-02-02")
    )

    resolve()

    def on(day: datetime.date) -> list[tuple[int, str | None]]:
        spells = PopulationSpell.objects.filter(
            person_id__in=[lonely, kept], valid_from__lte=day
        ).exclude(valid_to__lt=day)
        return [(spell.person_id, spell.residence_division) for spell in spells]

    assert on(datetime.date(2017, 1, 1)) == [(kept, "310104003002")]
    assert on(datetime.date(2024, 1, 1)) == [(kept, "310104003001")]
