"""What people decide about links: merges, splits and review decisions, with their history,
and how every later ``renfang resolve`` keeps them."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from renfang.accounts.tests.conftest import Areas, areas  # noqa: F401 (fixture)
from renfang.audit.models import AuditEvent
from renfang.linkage.models import PersonMerge, ReviewPair, ReviewStatus
from renfang.linkage.resolve import resolve
from renfang.linkage.selectors import person_resolve_merged
from renfang.linkage.services import LinkageError, person_merge, person_split, review_decide
from renfang.linkage.tests.conftest import CHEN_HUA, LI_NA, Make, person_of, rule_of, zhang
from renfang.people.facts import (
    attribute_record,
    residence_record,
    spells_rebuild_for,
)
from renfang.people.models import (
    AttributeKind,
    Conflict,
    ConflictStatus,
    Person,
)
from renfang.sources.models import REGISTER_SOURCE, Source, SourceRecord
from renfang.stats.models import PopulationSpell
from renfang.stats.selectors import area_figures

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(db: None) -> User:
    return User.objects.create_user("officer", password="x")


@pytest.fixture
def resolved(record: Make) -> None:
    """Zhang known to three departments, Li to two, Chen to one; resolved."""
    zhang(record, "police", "p-zhang")
    zhang(record, "health", "h-zhang")
    zhang(record, "civil_affairs", "c-zhang", id_number="", name="張偉")
    for source in ("police", "health"):
        record(
            source,
            f"{source[0]}-li",
            id_type="resident_id",
            id_number=LI_NA,
            name="李娜",
            sex="2",
            birth_date="1985-03-15",
        )
    record(
        "police",
        "p-chen",
        id_type="resident_id",
        id_number=CHEN_HUA,
        name="陈华",
        sex="1",
        birth_date="1970-02-02",
    )
    resolve()


def _person(source: str, record_id: str) -> Person:
    return Person.objects.get(pk=person_of(source, record_id))


def test_a_merge_moves_records_and_facts_and_keeps_answering_for_the_old_id(
    resolved: None, officer: User
) -> None:
    survivor, merged = _person("police", "p-li"), _person("police", "p-chen")
    phone = attribute_record(
        person=merged,
        kind=AttributeKind.PHONE,
        value="13900000000",
        valid_from=datetime.date(2020, 1, 1),
    )

    merge = person_merge(survivor, merged, user=officer, reason="one woman, two names")

    assert person_of("police", "p-chen") == survivor.pk
    assert rule_of("police", "p-chen") == rule_of("police", "p-li") == "merge"
    merged.refresh_from_db()
    assert merged.merged_into_id == survivor.pk
    assert person_resolve_merged(merged.pk) == survivor.pk
    assert person_resolve_merged(survivor.pk) == survivor.pk
    phone.refresh_from_db()
    assert phone.person_id == survivor.pk
    assert (merge.kind, merge.by, merge.reason) == ("merge", officer, "one woman, two names")
    assert merge.records == [SourceRecord.objects.get(record_id="p-chen").pk]
    assert AuditEvent.objects.filter(
        record_type="person", record_id=str(merged.pk), username="officer"
    ).exists()


def test_a_merge_sticks_across_runs(resolved: None, officer: User) -> None:
    survivor, merged = _person("police", "p-li"), _person("police", "p-chen")
    person_merge(survivor, merged, user=officer, reason="the same woman")

    run = resolve()

    assert person_of("police", "p-chen") == person_of("health", "h-li") == survivor.pk
    assert run.changed_links == 0
    assert run.model["counts"]["pinned"] == 3


def test_a_merge_of_a_person_into_itself_or_of_a_merged_person_is_refused(
    resolved: None, officer: User
) -> None:
    li, chen, zhang_ = (
        _person("police", "p-li"),
        _person("police", "p-chen"),
        _person("police", "p-zhang"),
    )
    with pytest.raises(LinkageError, match="into itself"):
        person_merge(li, li, user=officer, reason="oops")
    person_merge(li, chen, user=officer, reason="same")
    with pytest.raises(LinkageError, match=f"already merged into person {li.pk}"):
        person_merge(zhang_, chen, user=officer, reason="again")
    with pytest.raises(LinkageError, match=f"merged into person {li.pk}"):
        person_merge(chen, zhang_, user=officer, reason="into a merged one")
    with pytest.raises(LinkageError, match="reason"):
        person_merge(zhang_, li, user=officer, reason=" ")
    assert PersonMerge.objects.count() == 1


def test_a_split_makes_a_new_person_that_the_next_run_keeps(resolved: None, officer: User) -> None:
    zhang_ = _person("police", "p-zhang")
    civil = SourceRecord.objects.get(record_id="c-zhang")

    new = person_split(zhang_, [civil.pk], user=officer, reason="a namesake")

    assert person_of("civil_affairs", "c-zhang") == new.pk
    assert new.pk != zhang_.pk
    assert rule_of("civil_affairs", "c-zhang") == rule_of("police", "p-zhang") == "split"
    split = PersonMerge.objects.get(kind="split")
    assert (split.survivor_id, split.merged_id, split.records) == (zhang_.pk, new.pk, [civil.pk])

    run = resolve()

    assert person_of("civil_affairs", "c-zhang") == new.pk
    assert person_of("police", "p-zhang") == person_of("health", "h-zhang") == zhang_.pk
    assert run.changed_links == 0


def test_a_split_keeps_apart_even_records_with_the_same_id(
    resolved: None, officer: User, record: Make
) -> None:
    zhang_ = _person("police", "p-zhang")
    health = SourceRecord.objects.get(record_id="h-zhang")
    new = person_split(zhang_, [health.pk], user=officer, reason="ID shared by mistake")

    zhang(record, "education", "e-zhang")  # a new record with the same ID
    resolve()

    assert person_of("health", "h-zhang") == new.pk
    assert person_of("police", "p-zhang") == zhang_.pk
    assert person_of("education", "e-zhang") in {zhang_.pk, new.pk}


def test_a_split_that_makes_no_sense_is_refused(resolved: None, officer: User) -> None:
    zhang_ = _person("police", "p-zhang")
    everything = list(zhang_.source_records.values_list("pk", flat=True))
    li_record = SourceRecord.objects.get(record_id="p-li").pk

    with pytest.raises(LinkageError, match="at least one record"):
        person_split(zhang_, everything, user=officer, reason="all")
    with pytest.raises(LinkageError, match="not records of person"):
        person_split(zhang_, [li_record], user=officer, reason="not his")
    with pytest.raises(LinkageError, match="Choose"):
        person_split(zhang_, [], user=officer, reason="nothing")
    assert not PersonMerge.objects.exists()


def _pair(left: str, right: str) -> ReviewPair:
    ids = sorted(
        SourceRecord.objects.filter(record_id__in=[left, right]).values_list("pk", flat=True)
    )
    return ReviewPair.objects.create(
        left_id=ids[0], right_id=ids[1], probability=0.8, match_weight=2.0, weights={}
    )


def test_deciding_same_makes_one_person_and_sticks(resolved: None, officer: User) -> None:
    pair = _pair("p-li", "p-chen")

    decided = review_decide(pair, same=True, user=officer, note="checked at the door")

    assert decided.status == ReviewStatus.SAME
    assert (decided.decided_by, decided.note) == (officer, "checked at the door")
    assert person_of("police", "p-li") == person_of("police", "p-chen")
    assert rule_of("police", "p-chen") == "review"
    resolve()
    assert person_of("police", "p-li") == person_of("police", "p-chen")
    assert ReviewPair.objects.get().status == ReviewStatus.SAME


def test_deciding_different_splits_a_linked_pair_and_sticks(resolved: None, officer: User) -> None:
    pair = _pair("p-zhang", "c-zhang")
    assert person_of("police", "p-zhang") == person_of("civil_affairs", "c-zhang")

    review_decide(pair, same=False, user=officer, note="another 张伟")

    assert person_of("police", "p-zhang") != person_of("civil_affairs", "c-zhang")
    assert rule_of("civil_affairs", "c-zhang") == "review"
    resolve()
    assert person_of("police", "p-zhang") != person_of("civil_affairs", "c-zhang")
    assert ReviewPair.objects.get().status == ReviewStatus.DIFFERENT


def test_pairs_kept_apart_stay_apart_whatever_the_weights(
    record: Make, officer: User, settings: pytest.FixtureRequest
) -> None:
    zhang(record, "police", "p-zhang")
    zhang(record, "health", "h-zhang")
    zhang(record, "civil_affairs", "c-zhang", id_number="", name="张玮", birth_date="1980-01-02")
    settings.RENFANG_LINK_THRESHOLD = 1.0  # type: ignore[attr-defined]
    resolve()
    pair = ReviewPair.objects.get()
    review_decide(pair, same=False, user=officer)

    settings.RENFANG_LINK_THRESHOLD = 0.5  # type: ignore[attr-defined]
    resolve()

    assert person_of("civil_affairs", "c-zhang") != person_of("police", "p-zhang")
    assert ReviewPair.objects.get().status == ReviewStatus.DIFFERENT


def test_a_decided_pair_cannot_be_decided_again(resolved: None, officer: User) -> None:
    pair = _pair("p-li", "p-chen")
    review_decide(pair, same=False, user=officer)

    with pytest.raises(LinkageError, match="already decided"):
        review_decide(pair, same=True, user=officer)
    assert person_of("police", "p-li") != person_of("police", "p-chen")
    assert AuditEvent.objects.filter(record_type="review_pair").count() == 1


# ---------------------------------------------------------------- what a merge carries over


def _chen_in_two_minds(record: Make) -> None:
    """Chen: civil affairs says married, health says unmarried (a conflict)."""
    chen = {"id_type": "resident_id", "id_number": CHEN_HUA, "name": "陈华", "sex": "1"}
    record("civil_affairs", "c-chen", marital_status="20", **chen)
    record("health", "h-chen", marital_status="10", **chen)


def test_a_merge_keeps_a_settled_conflict_settled_on_the_survivor(
    resolved: None, officer: User, record: Make
) -> None:
    _chen_in_two_minds(record)
    resolve()
    chen, li = _person("police", "p-chen"), _person("police", "p-li")
    health = SourceRecord.objects.get(record_id="h-chen")
    settled = Conflict.objects.get(person=chen, field="marital_status", other_record=health)
    Conflict.objects.filter(pk=settled.pk).update(
        status=ConflictStatus.SETTLED,
        note="visited: married in 2019, health is out of date",
        settled_by=officer,
        settled_at=timezone.now(),
    )

    person_merge(li, chen, user=officer, reason="one person")

    kept = Conflict.objects.get(field="marital_status", other_record=health)
    assert kept.person_id == li.pk
    assert (kept.status, kept.note, kept.settled_by) == (
        ConflictStatus.SETTLED,
        "visited: married in 2019, health is out of date",
        officer,
    )
    assert not Conflict.objects.filter(person=chen).exists()


def test_merging_conflicts_about_the_same_record_keeps_the_settled_one(
    resolved: None, officer: User, record: Make
) -> None:
    _chen_in_two_minds(record)
    resolve()
    chen, li = _person("police", "p-chen"), _person("police", "p-li")
    health = SourceRecord.objects.get(record_id="h-chen")
    theirs = Conflict.objects.get(person=chen, field="marital_status", other_record=health)
    Conflict.objects.filter(pk=theirs.pk).update(status=ConflictStatus.SETTLED, note="visited")
    # An older conflict of the survivor's about the same record (it was once the survivor's).
    Conflict.objects.create(
        person=li,
        field="marital_status",
        golden_value="20",
        golden_source="civil_affairs",
        other_value="10",
        other_source="health",
        other_record=health,
    )

    person_merge(li, chen, user=officer, reason="one person")

    kept = Conflict.objects.get(field="marital_status", other_record=health)
    assert (kept.pk, kept.person_id, kept.status) == (theirs.pk, li.pk, ConflictStatus.SETTLED)


def _lives_in_tianping(person: Person) -> None:
    residence_record(person=person, division="310104003001", valid_from=datetime.date(2020, 1, 1))
    spells_rebuild_for([person.pk])


def _tianping_population() -> int:
    figures = area_figures(area_code="310104003001", as_of=datetime.date(2024, 1, 1))
    return int(figures["actual_population"]["total"])


def test_stats_count_a_merged_person_once(
    resolved: None,
    officer: User,
    areas: Areas,  # noqa: F811
) -> None:
    # Li is in renfang's own register: the golden refresh leaves her residences alone.
    SourceRecord.objects.create(
        source=Source.objects.create(code=REGISTER_SOURCE, name="register"),
        record_id="r-li",
        mapped={"id_type": "resident_id", "id_number": LI_NA, "name": "李娜"},
    )
    resolve()
    li, chen = _person("police", "p-li"), _person("police", "p-chen")
    _lives_in_tianping(li)
    _lives_in_tianping(chen)
    assert _tianping_population() == 2

    person_merge(li, chen, user=officer, reason="one woman")

    assert _tianping_population() == 1
    assert not PopulationSpell.objects.filter(person=chen).exists()


def test_stats_count_a_person_merged_by_a_review_decision_once(
    resolved: None,
    officer: User,
    areas: Areas,  # noqa: F811
) -> None:
    SourceRecord.objects.create(
        source=Source.objects.create(code=REGISTER_SOURCE, name="register"),
        record_id="r-li",
        mapped={"id_type": "resident_id", "id_number": LI_NA, "name": "李娜"},
    )
    resolve()
    _lives_in_tianping(_person("police", "p-li"))
    _lives_in_tianping(_person("police", "p-chen"))

    review_decide(_pair("r-li", "p-chen"), same=True, user=officer)

    assert _tianping_population() == 1


def test_deciding_same_for_a_record_without_a_person_links_it_refreshes_and_audits(
    resolved: None, officer: User, record: Make
) -> None:
    late = record("civil_affairs", "c-li", name="李娜", marital_status="20")  # after the run
    pair = _pair("p-li", "c-li")
    li = _person("police", "p-li")
    assert "marital_status" not in li.golden

    review_decide(pair, same=True, user=officer)

    late.refresh_from_db()
    assert (late.person_id, late.link_rule) == (li.pk, "review")
    li.refresh_from_db()
    assert li.golden["marital_status"]["value"] == "20"
    event = AuditEvent.objects.get(
        record_type="person", record_id=str(li.pk), username="officer", detail__linked=[late.pk]
    )
    assert event.detail["source"] == "review"


def test_keeping_apart_a_pair_of_one_person_pins_only_the_two_records(
    resolved: None, officer: User, record: Make
) -> None:
    zhang_ = _person("police", "p-zhang")
    pair = _pair("p-zhang", "c-zhang")

    review_decide(pair, same=False, user=officer, note="another 张伟")

    assert rule_of("police", "p-zhang") == rule_of("civil_affairs", "c-zhang") == "review"
    assert rule_of("health", "h-zhang") == "id"  # not frozen: the next run may move it
    assert person_of("police", "p-zhang") == person_of("health", "h-zhang") == zhang_.pk
    apart = person_of("civil_affairs", "c-zhang")
    assert apart != zhang_.pk

    zhang(record, "education", "e-zhang")  # a new record with Zhang's ID
    run = resolve()

    assert person_of("police", "p-zhang") == person_of("health", "h-zhang") == zhang_.pk
    assert person_of("education", "e-zhang") == zhang_.pk
    assert person_of("civil_affairs", "c-zhang") == apart
    assert rule_of("health", "h-zhang") == rule_of("education", "e-zhang") == "id"
    assert run.model["counts"]["pinned"] == 2


def test_keeping_apart_two_records_with_one_id_holds_on_the_next_run(
    resolved: None, officer: User
) -> None:
    pair = _pair("p-zhang", "h-zhang")  # one ID number, typed into another person's record

    review_decide(pair, same=False, user=officer, note="the number is his father's")
    resolve()

    assert person_of("police", "p-zhang") != person_of("health", "h-zhang")
    assert rule_of("civil_affairs", "c-zhang") != "review"


# ---------------------------------------------------------------- what the audit and feed see


def test_a_reviewers_merge_leaves_one_residence_at_a_time_audited_and_told(
    resolved: None, officer: User
) -> None:
    from renfang.exchange.models import Event, EventType  # noqa: PLC0415
    from renfang.people.models import Residence  # noqa: PLC0415

    li, chen = _person("police", "p-li"), _person("police", "p-chen")
    residence_record(person=li, division="310104003001", valid_from=datetime.date(2020, 1, 1))
    residence_record(person=chen, division="310104003002", valid_from=datetime.date(2023, 5, 1))
    told = Event.objects.order_by("-seq").values_list("seq", flat=True).first()

    person_merge(li, chen, user=officer, reason="one woman, two names")

    assert sorted(
        Residence.objects.filter(person=li).values_list("valid_from", "valid_to", "division")
    ) == [
        (datetime.date(2020, 1, 1), datetime.date(2023, 4, 30), "310104003001"),
        (datetime.date(2023, 5, 1), None, "310104003002"),
    ]
    # The auditor: the officer's merge, on both persons, with what the survivor received.
    survivor = AuditEvent.objects.get(
        record_type="person", record_id=str(li.pk), detail__merged=chen.pk
    )
    assert (survivor.username, survivor.detail["source"]) == ("officer", "merge")
    assert [(line["field"], line["old"] is None) for line in survivor.detail["changes"]] == [
        ("residence", False),
        ("residence", True),
    ]
    gone = AuditEvent.objects.get(record_type="person", record_id=str(chen.pk), username="officer")
    assert gone.detail["changes"] == [{"field": "merged_into", "old": None, "new": li.pk}]
    # The subscriber: the merge, then the survivor moved.
    assert list(
        Event.objects.filter(seq__gt=told, person_id=li.pk)
        .order_by("seq")
        .values_list("type", "division", "division_before")
    )[:2] == [
        (EventType.MERGED, "310104003002", ""),
        (EventType.MOVED, "310104003002", "310104003001"),
    ]


def test_a_split_off_person_is_audited_with_who_they_are(resolved: None, officer: User) -> None:
    zhang_ = _person("police", "p-zhang")
    civil = SourceRecord.objects.get(record_id="c-zhang")

    new = person_split(zhang_, [civil.pk], user=officer, reason="a namesake")

    identity = {
        line["field"]: line["new"]
        for event in AuditEvent.objects.filter(record_type="person", record_id=str(new.pk))
        for line in event.detail.get("changes", [])
    }
    assert identity["name"] == "張偉"
    # The number is the person's split from: the new one is not given it.
    new.refresh_from_db()
    assert "id_number" not in identity and new.id_number == ""
