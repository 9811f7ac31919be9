"""The register import as a source: one ``register`` record per person, linked to the person
it wrote; re-imports change nothing; an identity field another source is authoritative for is
not overwritten; persons other sources know get their golden records refreshed."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from renfang.audit.models import AuditEvent
from renfang.people.facts import (
    person_placeholder,
)
from renfang.people.facts.planting import by_hand
from renfang.people.golden import golden_refresh
from renfang.people.models import (
    Conflict,
    IdentityRevision,
    Person,
    PersonAttribute,
    Residence,
)
from renfang.register.importer import register_import
from renfang.register.source import REGISTER_MAPPING, register_source
from renfang.register.tests.test_import import (
    LI,
    TODAY,
    ZHANG,
    li_rows,
    reference,  # noqa: F401 (the fixture: code sets, areas and the rows' two houses)
    row,
    write,
)
from renfang.sources.mapping import parse_mapping
from renfang.sources.models import (
    LinkRule,
    Source,
    SourceImport,
    SourceRecord,
    SourceRecordVersion,
)
from renfang.testing.sources import record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]


def register_records() -> dict[str, SourceRecord]:
    return {
        r.record_id: r
        for r in SourceRecord.objects.filter(source__code="register").select_related("person")
    }


def test_each_person_of_the_file_becomes_a_register_record_linked_to_them(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", [row(), *li_rows()])

    summary = register_import(path=path, today=TODAY)

    source = Source.objects.get(code="register")
    mapping = source.current_mapping()
    assert mapping is not None and mapping.text == REGISTER_MAPPING
    records = register_records()
    assert set(records) == {f"resident_id:{ZHANG}", f"resident_id:{LI}"}
    zhang = records[f"resident_id:{ZHANG}"]
    assert zhang.person == Person.objects.get(id_number=ZHANG)
    assert (zhang.link_rule, zhang.link_detail) == (LinkRule.ID_NUMBER, {"rule": "register"})
    assert zhang.mapped == {
        "id_type": "resident_id",
        "id_number": ZHANG,
        "name": "张伟",
        "sex": "1",
        "birth_date": "1980-01-01",
        "nationality": "CHN",
        "hukou_division": "310104003",
        "hukou_type": "family",
        "residence_division": "310104003001",
        "residence_house_code": "310104003001000001",
        "residence_from": "2015-03-01",
        "phone": "13812345678",
        # the whole history: every spell of the file (one here)
        "spells": '[["2015-03-01",null,"310104003001","310104003001000001","310104003","family"]]',
    }
    li = records[f"resident_id:{LI}"]
    # Li's latest spell: the second row; the raw row has every column of the file.
    assert li.mapped["residence_division"] == "310104004001"
    assert "hukou_type" not in li.mapped and "phone" not in li.mapped
    (version,) = SourceRecordVersion.objects.filter(record=li)
    assert version.raw["residence_from"] == "2021-01-01"
    assert version.raw["residence_to"] == "" and set(version.raw) == set(row())
    done = SourceImport.objects.get(source=source)
    assert (done.status, done.file_name, done.records, done.new) == ("done", "r.csv", 2, 2)
    assert (summary.records_new, summary.records_changed) == (2, 0)


def test_the_register_mapping_is_a_valid_mapping():
    parse_mapping(REGISTER_MAPPING)


def test_importing_the_same_file_twice_stores_no_new_version(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", [row(), *li_rows()])
    register_import(path=path, today=TODAY)

    summary = register_import(path=path, today=TODAY)

    assert (summary.records_new, summary.records_changed, summary.golden_refreshed) == (0, 0, 0)
    assert SourceRecordVersion.objects.count() == 2
    assert SourceRecord.objects.filter(version=1).count() == 2
    assert list(SourceImport.objects.order_by("pk").values_list("new", "unchanged")) == [
        (2, 0),
        (0, 2),
    ]


def test_a_changed_person_makes_a_new_version_of_their_record(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "a.csv", [row()]), today=TODAY)

    summary = register_import(
        path=write(tmp_path / "b.csv", [row(phone="13900000000")]), today=TODAY
    )

    (zhang,) = register_records().values()
    assert (zhang.version, zhang.mapped["phone"]) == (2, "13900000000")
    assert summary.records_changed == 1


def police_knows_zhang(name: str = "张伟", **mapped: str) -> Person:
    """Zhang, imported from the register, also known to the police (linked by resolve)."""
    zhang = Person.objects.get(id_number=ZHANG)
    values = {"id_type": "resident_id", "id_number": ZHANG, "name": name, "sex": "1"}
    record(zhang, "police", day=1, **{**values, **mapped})
    golden_refresh([zhang.pk])
    zhang.refresh_from_db()
    return zhang


def test_a_name_the_police_give_is_not_overwritten_by_the_register_twice(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "a.csv", [row(name="张玮")]), today=TODAY)
    zhang = police_knows_zhang("张伟")
    assert zhang.name == "张伟"
    revisions = IdentityRevision.objects.count()

    path = write(tmp_path / "b.csv", [row(name="张玮"), *li_rows()])
    first = register_import(path=path, today=TODAY)
    events = AuditEvent.objects.count()
    second = register_import(path=path, today=TODAY)

    zhang.refresh_from_db()
    assert zhang.name == "张伟"
    assert IdentityRevision.objects.count() == revisions
    assert (first.people_changed, second.people_changed, second.identity_kept) == (0, 0, 1)
    assert AuditEvent.objects.count() == events + 1  # the import's own event
    conflict = Conflict.objects.get(person=zhang, field="name")
    assert (conflict.golden_source, conflict.other_source, conflict.other_value) == (
        "police",
        "register",
        "张玮",
    )


def test_a_field_the_register_gives_is_still_corrected_by_it(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "a.csv", [row()]), today=TODAY)
    police_knows_zhang()  # the police know no nationality: the register gives it

    summary = register_import(path=write(tmp_path / "b.csv", [row(name="张玮")]), today=TODAY)

    zhang = Person.objects.get(id_number=ZHANG)
    assert zhang.name == "张伟" and summary.identity_kept == 1
    assert zhang.golden["nationality"]["source"] == "register"


def test_the_register_record_finds_its_person_after_the_police_corrected_the_id(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "a.csv", [row()])
    register_import(path=path, today=TODAY)
    zhang = Person.objects.get(id_number=ZHANG)
    zhang.id_number = "310104198001011230"  # as a golden record from the police would
    with by_hand():
        zhang.save()

    summary = register_import(
        path=write(tmp_path / "b.csv", [row(phone="13900000000")]), today=TODAY
    )

    assert summary.people_created == 0 and Person.objects.count() == 1
    assert zhang.attributes.get(valid_to__isnull=True, kind="phone").value == "13900000000"


def test_persons_other_sources_know_get_their_golden_records_refreshed(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "a.csv", [row(phone=""), *li_rows()]), today=TODAY)
    zhang = Person.objects.get(id_number=ZHANG)
    record(zhang, "health", day=1, phone="13700000000", marital_status="20")
    golden_refresh([zhang.pk])
    assert Person.objects.get(pk=zhang.pk).golden["phone"]["source"] == "health"

    summary = register_import(
        path=write(tmp_path / "b.csv", [row(phone="13812345678"), *li_rows()]), today=TODAY
    )

    zhang.refresh_from_db()
    assert summary.golden_refreshed == 1  # Zhang, not Li (only the register knows Li)
    assert zhang.golden["phone"]["source"] == "register"
    phones = PersonAttribute.objects.filter(person=zhang, kind="phone", valid_to__isnull=True)
    assert list(phones.values_list("value", flat=True)) == ["13812345678"]


def test_two_persons_of_the_file_that_were_merged_are_written_once(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "a.csv", [row(), *li_rows()]), today=TODAY)
    zhang, li = Person.objects.get(id_number=ZHANG), Person.objects.get(id_number=LI)
    SourceRecord.objects.filter(person=li).update(person=zhang, link_rule=LinkRule.MERGE)
    li.merged_into = zhang
    with by_hand():  # merged by hand (a merge would move the facts too)
        li.save()

    summary = register_import(path=write(tmp_path / "a.csv", [row(), *li_rows()]), today=TODAY)

    assert (summary.people_merged, summary.people_created) == (1, 0)
    assert zhang.residences.count() == 1


def test_a_record_a_reviewer_moved_keeps_its_person(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", [row()])
    register_import(path=path, today=TODAY)
    other = person_placeholder(name="张伟", sex="1", birth_date=datetime.date(1980, 1, 1))
    SourceRecord.objects.filter(source__code="register").update(
        person=other, link_rule=LinkRule.SPLIT
    )

    register_import(path=write(tmp_path / "b.csv", [row(phone="13900000000")]), today=TODAY)

    (moved,) = register_records().values()
    assert (moved.person, moved.link_rule) == (other, LinkRule.SPLIT)
    # The register's facts follow the record.
    assert other.attributes.get(kind="phone").value == "13900000000"


def test_a_phone_the_register_adds_is_in_its_record_even_when_the_facts_had_it(
    tmp_path: Path,
) -> None:
    register_import(path=write(tmp_path / "a.csv", [row(phone="")]), today=TODAY)
    zhang = Person.objects.get(id_number=ZHANG)
    record(zhang, "health", day=1, phone="13812345678")
    golden_refresh([zhang.pk])  # the phone fact, from health

    summary = register_import(path=write(tmp_path / "b.csv", [row()]), today=TODAY)

    (register,) = register_records().values()
    assert (summary.people_changed, summary.records_changed) == (0, 1)
    assert (register.version, register.mapped["phone"]) == (2, "13812345678")
    assert Person.objects.get(pk=zhang.pk).golden["phone"]["source"] == "register"


def test_the_registers_history_keeps_the_residences_and_hukou_when_the_police_know_the_person(
    tmp_path: Path,
) -> None:
    register_import(path=write(tmp_path / "a.csv", [row(), *li_rows()]), today=TODAY)
    li = Person.objects.get(id_number=LI)
    history = sorted(li.residences.values_list("valid_from", "valid_to", "division"))
    # The police hold another hukou and a residence of their own for Li
    record(
        li,
        "police",
        day=1,
        id_type="resident_id",
        id_number=LI,
        name="李娜",
        hukou_division="310104",
        hukou_type="family",
        residence_division="310104003001",
        residence_from="2026-01-01",
    )

    report = golden_refresh([li.pk])

    li.refresh_from_db()
    # golden.toml [history]: the register's spells are Li's residences and hukou over time
    assert sorted(li.residences.values_list("valid_from", "valid_to", "division")) == history
    assert list(li.hukous.values_list("division", flat=True)) == ["340122"]
    assert li.golden["hukou_division"]["source"] == "police"  # today's value, shown as such
    assert Conflict.objects.filter(person=li, field="hukou_division").exists()
    assert report.facts_added == 0 and li.residences.filter(retracted_at__isnull=False).count() == 0


def test_a_register_record_from_before_histories_leaves_the_facts_until_the_next_import(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "a.csv", [row(), *li_rows()])
    register_import(path=path, today=TODAY)
    li = Person.objects.get(id_number=LI)
    facts = sorted(li.residences.values_list("pk", flat=True))
    # As renfang kept register records before ADR 0025: the last spell only, no history
    for stored in SourceRecord.objects.filter(source__code="register"):
        stored.mapped.pop("spells")
        stored.save()
    events = AuditEvent.objects.count()

    golden_refresh([li.pk])
    assert sorted(li.residences.values_list("pk", flat=True)) == facts

    summary = register_import(path=path, today=TODAY)

    assert summary.records_changed == 2 and summary.people_changed == 0
    assert sorted(li.residences.values_list("pk", flat=True)) == facts
    assert AuditEvent.objects.count() == events + 1  # the import's own event
    assert all("spells" in r.mapped for r in SourceRecord.objects.filter(source__code="register"))


def test_a_merged_person_keeps_the_history_of_the_record_whose_id_number_they_have(
    tmp_path: Path,
) -> None:
    from renfang.linkage.services import person_merge  # noqa: PLC0415

    register_import(path=write(tmp_path / "a.csv", [row(), *li_rows()]), today=TODAY)
    zhang, li = Person.objects.get(id_number=ZHANG), Person.objects.get(id_number=LI)
    person_merge(zhang, li, user=None, reason="one person")
    golden_refresh([zhang.pk])
    zhang.refresh_from_db()

    # Two register records are one person now: the golden ID number comes from one of them
    # (golden.toml), and so do the residences: never one record's number with the other's
    # history.
    # Both records came with one file: the later stored, Li's, gives the number.
    assert zhang.id_number == LI
    assert sorted(zhang.residences.values_list("valid_from", "division")) == [
        (datetime.date(2018, 5, 1), "310104003001"),
        (datetime.date(2021, 1, 1), "310104004001"),
    ]
    assert golden_refresh([zhang.pk]).facts_added == 0  # and it stays so


def _residences(person: Person) -> list[tuple[object, ...]]:
    return sorted(
        Residence.all_versions.filter(person=person).values_list("pk", "valid_from", "retracted_at")
    )


def test_golden_refresh_says_how_many_persons_history_records_carry_no_history(
    tmp_path: Path,
) -> None:
    """A register record without spells (kept before ADR 0025) or with none (``[]``) leaves
    the person's residences and hukou as they are; the refresh says how many such persons it
    met, so that an operator imports their register file again."""
    register_import(path=write(tmp_path / "a.csv", [row(), *li_rows()]), today=TODAY)
    zhang, li = Person.objects.get(id_number=ZHANG), Person.objects.get(id_number=LI)
    before = {person.pk: _residences(person) for person in (zhang, li)}
    for stored in SourceRecord.objects.filter(source__code="register"):
        if stored.person_id == li.pk:
            stored.mapped.pop("spells")
        else:
            stored.mapped["spells"] = "[]"
        stored.save()
    out = io.StringIO()

    with translation.override("en"):
        call_command(
            "golden", "refresh", "--person", str(zhang.pk), str(li.pk), "--no-progress", stdout=out
        )

    assert "2 without a usable history" in out.getvalue()
    assert (
        "2 persons' records in a source of history (golden.toml, [history]) carry no usable "
        "history (no spells, or spells that are no history): their residences and hukou were "
        "left as they were"
    ) in out.getvalue()
    assert {person.pk: _residences(person) for person in (zhang, li)} == before
    with translation.override("zh-hans"):
        out = io.StringIO()
        call_command("golden", "refresh", "--person", str(li.pk), "--no-progress", stdout=out)
    assert "1 人在历史来源" in out.getvalue()
    # A person whose history is usable is not counted.
    register_import(path=write(tmp_path / "a.csv", [row(), *li_rows()]), today=TODAY)
    assert golden_refresh([zhang.pk, li.pk]).no_history == []


def test_the_register_import_says_how_many_persons_have_no_usable_history(tmp_path: Path) -> None:
    """Zhang's golden ID number comes from the police, so his history is that of the first
    register record stored of him: one whose spells are no history (a register record with
    an empty history). The import leaves his residences alone and says so."""
    register = register_source(None)
    zhang = person_placeholder()
    record(zhang, "police", id_type="resident_id", id_number=ZHANG, name="张伟", sex="1")
    SourceRecord.objects.create(
        source=register, record_id="resident_id:OLD", mapped={"spells": "[]"}, person=zhang
    )
    golden_refresh([zhang.pk])
    out = io.StringIO()

    with translation.override("en"):
        call_command(
            "register",
            "import",
            str(write(tmp_path / "a.csv", [row()])),
            "--no-progress",
            stdout=out,
        )

    assert "golden records refreshed 1 (1 without a usable history)" in out.getvalue()
    assert (
        "1 person's record in a source of history (golden.toml, [history]) carries no usable "
        "history"
    ) in out.getvalue()
    assert not Residence.all_versions.filter(person=zhang).exists()


def test_a_register_import_of_good_histories_counts_none(tmp_path: Path) -> None:
    summary = register_import(path=write(tmp_path / "a.csv", [row(), *li_rows()]), today=TODAY)

    assert (summary.golden_refreshed, summary.no_history) == (2, 0)
    assert "without a usable history" not in summary.as_text()
