"""The review queue (身份识别): the list of the user's area, a pair side by side with its
match weights, deciding "same person" or "keep apart"; merging and splitting from the person
page. Only for roles that resolve identities."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from renfang.accounts.access import mask_id_number, mask_phone
from renfang.audit.models import Action, AuditEvent
from renfang.linkage.models import PersonMerge, ReviewPair, ReviewStatus
from renfang.people.models import Person
from renfang.sources.models import SourceRecord
from renfang.testing.matrix import World, build_world
from renfang.testing.sources import PlantedSources, Twin, plant_pair_to_review, plant_sources
from renfang.testing.users import client_for
from renfang.web.tests.test_sources_pages import english


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def planted(world: World) -> dict[str, PlantedSources]:
    return plant_sources(world)


@pytest.fixture
def twin(world: World, planted: dict[str, PlantedSources]) -> Twin:
    return plant_pair_to_review(world, police=planted["A1"].police)


def _officer(world: World):
    return english(client_for(world.users["street_officer"]))


def test_the_queue_holds_the_pairs_of_the_officers_street_only(world, planted):
    page = _officer(world).get("/review/")

    assert page.status_code == 200
    html = page.content.decode()
    for key in ("A1", "A2", "HUKOU_A1"):
        assert f'href="/review/{planted[key].pair.pk}/"' in html
    assert f'href="/review/{planted["B1"].pair.pk}/"' not in html
    assert "乙一住户" not in html
    assert "公安户籍 / 民政" in html


def test_the_queue_filters_by_status(world, planted):
    ReviewPair.objects.filter(pk=planted["A2"].pair.pk).update(status=ReviewStatus.DIFFERENT)
    officer = _officer(world)

    open_pairs = officer.get("/review/").content.decode()
    kept_apart = officer.get("/review/?status=different").content.decode()

    assert f"/review/{planted['A2'].pair.pk}/" not in open_pairs
    assert f"/review/{planted['A2'].pair.pk}/" in kept_apart
    assert f"/review/{planted['A1'].pair.pk}/" not in kept_apart


def test_a_pair_shows_both_records_side_by_side_masked_with_weights(world, planted):
    a1 = world.planted["A1"]
    pair = planted["A1"].pair

    page = _officer(world).get(f"/review/{pair.pk}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert a1.id_number not in html and a1.phone not in html
    assert html.count(mask_id_number(a1.id_number)) >= 3  # two values and a record id
    assert mask_phone(a1.phone) in html
    assert "9.10" in html and "exact" in html and "-0.40" in html
    # Both records are A1's person now: linked, by name.
    assert html.count(f'href="/people/{a1.person.pk}/"') == 2
    assert 'id="decide-same"' in html and 'id="decide-different"' in html


def test_a_pair_outside_the_area_is_not_found_and_audited(world, planted):
    officer = world.users["street_officer"]

    response = client_for(officer).get(f"/review/{planted['B1'].pair.pk}/")
    missing = client_for(officer).get("/review/987654321/")

    assert response.status_code == missing.status_code == 404
    assert AuditEvent.objects.filter(user_id=officer.pk, action=Action.DENIED).exists()


def test_same_person_links_the_two_records_into_one_person(world, planted, twin):
    a1 = world.planted["A1"].person
    officer = _officer(world)

    response = officer.post(
        f"/review/{twin.pair.pk}/decide/", {"decision": "same", "note": "同一电话"}, follow=True
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Linked: the two records are one person." in html
    twin.pair.refresh_from_db()
    assert twin.pair.status == ReviewStatus.SAME
    assert twin.pair.decided_by == world.users["street_officer"]
    assert twin.pair.note == "同一电话"
    record = SourceRecord.objects.get(pk=twin.record.pk)
    assert record.person_id == SourceRecord.objects.get(pk=planted["A1"].police.pk).person_id
    survivor = record.person_id
    assert survivor in {a1.pk, twin.person.pk}
    # The person page shows the health record with the police and civil affairs ones.
    person = officer.get(f"/people/{survivor}/").content.decode()
    records = re.search(r'id="source-records">(.*?)</section>', person, re.S)
    assert records and all(name in records.group(1) for name in ("公安户籍", "民政", "卫健"))


def test_keep_apart_is_remembered(world, planted, twin):
    response = _officer(world).post(f"/review/{twin.pair.pk}/decide/", {"decision": "different"})

    assert response.status_code == 302
    twin.pair.refresh_from_db()
    assert twin.pair.status == ReviewStatus.DIFFERENT
    assert SourceRecord.objects.get(pk=twin.record.pk).person_id == twin.person.pk


def test_a_decision_must_be_one_of_the_two(world, planted, twin):
    response = _officer(world).post(f"/review/{twin.pair.pk}/decide/", {"decision": "maybe"})

    assert response.status_code == 400
    twin.pair.refresh_from_db()
    assert twin.pair.status == ReviewStatus.OPEN


@pytest.mark.parametrize("role", ["committee_clerk", "collector", "police", "department_reader"])
def test_roles_that_do_not_resolve_identities_do_not_find_the_queue(world, planted, twin, role):
    client = client_for(world.users[role])

    assert client.get("/review/").status_code == 404
    assert client.get(f"/review/{twin.pair.pk}/").status_code == 404
    decided = client.post(f"/review/{twin.pair.pk}/decide/", {"decision": "same"})
    assert decided.status_code == 404
    twin.pair.refresh_from_db()
    assert twin.pair.status == ReviewStatus.OPEN


def test_the_queue_export(world, planted):
    export = _officer(world).get("/review/pairs.xlsx")

    book = load_workbook(io.BytesIO(export.content), read_only=True)
    rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    assert len(rows) == 4  # the header and street A's three pairs
    assert rows[0][:3] == ["Pair", "Status", "Match probability"]
    ids = {row[5] for row in rows[1:]} | {row[8] for row in rows[1:]}
    assert all("*" in record_id for record_id in ids if not str(record_id).startswith("HJ-"))
    assert AuditEvent.objects.filter(action=Action.EXPORT, record_type="review_pair").exists()


def test_merging_asks_for_confirmation_and_a_reason(world, planted, twin):
    a1 = world.planted["A1"].person
    officer = _officer(world)
    url = f"/people/{a1.pk}/merge/"

    confirm = officer.get(url, {"other": twin.person.pk})
    no_reason = officer.post(url, {"other": twin.person.pk, "reason": ""})
    assert confirm.status_code == 200 and 'id="merge-confirm"' in confirm.content.decode()
    assert no_reason.status_code == 400
    assert Person.objects.get(pk=twin.person.pk).merged_into_id is None

    merged = officer.post(url, {"other": twin.person.pk, "reason": "同一人，繁体字"})

    assert merged.status_code == 302
    assert Person.objects.get(pk=twin.person.pk).merged_into_id == a1.pk
    assert SourceRecord.objects.get(pk=twin.record.pk).person_id == a1.pk
    assert PersonMerge.objects.filter(survivor=a1, merged=twin.person).exists()
    # The old number leads to the survivor.
    old = officer.get(f"/people/{twin.person.pk}/")
    assert old.status_code == 302 and old["Location"] == f"/people/{a1.pk}/"


def test_merging_with_someone_outside_the_area_finds_nobody(world, planted):
    a1, b1 = world.planted["A1"].person, world.planted["B1"].person

    response = _officer(world).get(f"/people/{a1.pk}/merge/", {"other": b1.pk})

    assert response.status_code == 400
    html = response.content.decode()
    assert "No person with this number in your area." in html and "乙一住户" not in html
    assert Person.objects.get(pk=b1.pk).merged_into_id is None


def test_splitting_moves_the_ticked_records_to_a_new_person(world, planted):
    a1 = world.planted["A1"].person
    civil = planted["A1"].civil
    officer = _officer(world)

    nothing_ticked = officer.post(f"/people/{a1.pk}/split/", {"reason": "另一人"}, follow=True)
    assert "Tick the records that are another person." in nothing_ticked.content.decode()
    assert SourceRecord.objects.get(pk=civil.pk).person_id == a1.pk

    response = officer.post(
        f"/people/{a1.pk}/split/", {"records": [civil.pk], "reason": "民政记录是另一人"}
    )

    assert response.status_code == 302
    moved = SourceRecord.objects.get(pk=civil.pk)
    assert moved.person_id not in {None, a1.pk}
    assert SourceRecord.objects.get(pk=planted["A1"].police.pk).person_id == a1.pk
    assert PersonMerge.objects.filter(survivor=a1, merged_id=moved.person_id).exists()
