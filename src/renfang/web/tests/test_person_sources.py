"""The person page's sources: each field's golden value with its source, record and date and
what other sources hold; the person's source records; merges and splits; and a merged-away
person's old page leading to the survivor."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from renfang.accounts.access import mask_id_number
from renfang.audit.models import Action, AuditEvent
from renfang.linkage.models import MergeKind, PersonMerge
from renfang.people.facts import person_placeholder, persons_merge
from renfang.testing.matrix import World, build_world
from renfang.testing.sources import PlantedSources, plant_sources
from renfang.testing.users import client_for
from renfang.web.tests.test_sources_pages import english


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def planted(world: World) -> dict[str, PlantedSources]:
    return plant_sources(world)


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section class="card" id="{section_id}">(.*?)</section>', html, re.S)
    assert match, f"no section {section_id}"
    return str(match.group(1))


def _row(html: str, row_id: str) -> str:
    match = re.search(rf'id="{row_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    return str(match.group(1))


def _page(world: World, role: str, key: str = "A1") -> str:
    client = english(client_for(world.users[role]))
    response = client.get(f"/people/{world.planted[key].person.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_each_field_shows_its_source_and_what_the_others_hold(world, planted):
    a1 = world.planted["A1"]

    sources = _section(_page(world, "committee_clerk"), "sources")

    name_row = _row(sources, "provenance-name")
    assert a1.person.name in name_row and "公安户籍" in name_row and "HJ-A1" in name_row
    marital = _row(sources, "provenance-marital_status")
    assert "民政" in marital  # authoritative for marital status
    assert 'class="disagree">公安户籍:' in marital  # the police hold another value
    # The ID number is masked, in the value and in the civil affairs record id made of it.
    assert a1.id_number not in sources
    assert mask_id_number(a1.id_number) in sources


def test_the_police_see_the_numbers_whole(world, planted):
    sources = _section(_page(world, "police"), "sources")

    assert world.planted["A1"].id_number in sources


def test_a_department_reader_sees_only_the_granted_fields(world, planted):
    # Granted name, sex and residences: not the ID number, not marital status.
    html = _page(world, "department_reader")
    sources = _section(html, "sources")
    records = _section(html, "source-records")

    assert 'id="provenance-name"' in sources
    assert 'id="provenance-id_number"' not in sources
    assert 'id="provenance-marital_status"' not in sources
    number = world.planted["A1"].id_number
    assert number not in html and number[-4:] + "<" not in html
    # Not granted nationality and hukou: no source is named, no record listed (ADR 0022).
    assert "公安户籍" not in sources and "民政" not in sources
    assert 'id="provenance-name"' in sources
    assert "HJ-A1" not in records and "公安户籍" not in records


def test_the_source_records_are_listed_and_only_resolvers_may_split_or_merge(world, planted):
    officer = _page(world, "street_officer")
    clerk = _page(world, "committee_clerk")

    records = _section(officer, "source-records")
    assert "公安户籍" in records and "民政" in records and "HJ-A1" in records
    assert 'id="split"' in records and 'id="merge-start"' in records
    assert f'value="{planted["A1"].police.pk}"' in records
    clerk_records = _section(clerk, "source-records")
    assert "HJ-A1" in clerk_records
    assert 'id="split"' not in clerk_records and 'id="merge-start"' not in clerk_records


def test_merges_and_splits_are_shown_with_who_why_and_the_other_person(world, planted):
    a1, b1 = world.planted["A1"].person, world.planted["B1"].person
    PersonMerge.objects.create(
        kind=MergeKind.MERGE,
        survivor=a1,
        merged=world.planted["A2"].person,
        records=[1, 2],
        by=world.users["street_officer"],
        reason="同一身份证号",
    )
    PersonMerge.objects.create(
        kind=MergeKind.SPLIT, survivor=a1, merged=b1, records=[3], by=None, reason="resolve"
    )

    merges = _section(_page(world, "committee_clerk"), "merges")

    assert "同一身份证号" in merges and "m_officer" in merges
    # The clerk sees neither the sibling committee's person nor the other street's: no links.
    assert f"/people/{world.planted['A2'].person.pk}/" not in merges
    assert f"/people/{b1.pk}/" not in merges
    assert merges.count("outside your area") == 2


def test_a_merged_away_person_leads_to_the_survivor_with_a_message(world, planted):
    survivor = world.planted["A1"].person
    gone = person_placeholder(id_type="resident_id", name="旧号", sex="1")
    persons_merge([(gone.pk, survivor.pk)], timezone.now())
    client = english(client_for(world.users["committee_clerk"]))

    response = client.get(f"/people/{gone.pk}/", follow=True)

    assert response.redirect_chain == [(f"/people/{survivor.pk}/", 302)]
    assert f"Person no. {gone.pk} was merged into this person" in response.content.decode()


def test_a_merged_away_person_whose_survivor_is_outside_the_area_is_not_found(world, planted):
    survivor = world.planted["B1"].person
    gone = person_placeholder(id_type="resident_id", name="旧号", sex="1")
    persons_merge([(gone.pk, survivor.pk)], timezone.now())
    clerk = world.users["committee_clerk"]

    response = client_for(clerk).get(f"/people/{gone.pk}/")

    assert response.status_code == 404
    assert AuditEvent.objects.filter(
        user_id=clerk.pk, action=Action.DENIED, record_id=str(gone.pk)
    ).exists()


def test_a_value_typed_differently_is_not_shown_as_disagreeing(world, planted):
    from renfang.sources.models import LinkRule, Source, SourceRecord  # noqa: PLC0415

    a1 = world.planted["A1"]
    dotted = a1.person.name[0] + "·" + a1.person.name[1:]  # the same name, a dot typed in
    SourceRecord.objects.create(
        source=Source.objects.create(code="health", name="卫健"),
        record_id="WJ-A1",
        mapped={"name": dotted},
        person=a1.person,
        link_rule=LinkRule.ID_NUMBER,
    )

    name_row = _row(_section(_page(world, "committee_clerk"), "sources"), "provenance-name")

    assert f"<li>卫健: {dotted}</li>" in name_row  # agrees: no class="disagree"
