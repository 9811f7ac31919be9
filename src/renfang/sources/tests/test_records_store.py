"""The bulk store that file imports and the register import share, and the reads of sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from renfang.people.facts import (
    person_placeholder,
)
from renfang.sources.models import LinkRule, Source, SourceImport, SourceRecord
from renfang.sources.selectors import (
    imports_list,
    records_of_person,
    sources_list,
    unmapped_codes_list,
)
from renfang.sources.services import (
    IncomingRecord,
    SourceError,
    mapping_update,
    records_store,
    source_add,
    source_import,
)
from renfang.sources.tests.conftest import POLICE_MAPPING, police_row, write_csv

pytestmark = pytest.mark.django_db


def incoming(n: int, *, phone: str = "13800138000", start: int = 0) -> list[IncomingRecord]:
    return [
        IncomingRecord(
            record_id=f"resident_id:{i:018d}",
            raw={"name": f"人{i}", "phone": phone},
            mapped={"name": f"人{i}", "phone": phone},
        )
        for i in range(start, start + n)
    ]


@pytest.fixture
def register() -> Source:
    return Source.objects.create(code="register", name="人口登记")


def test_new_records_get_version_1_in_chunks(register: Source) -> None:
    result = records_store(register, incoming(12_001), source_import=None)

    assert len(result.new) == 12_001
    assert (result.changed, result.unchanged) == ([], 0)
    assert sorted(result.new) == sorted(
        SourceRecord.objects.filter(source=register).values_list("pk", flat=True)
    )
    record = SourceRecord.objects.get(record_id=f"resident_id:{12_000:018d}")
    assert record.mapped == {"name": "人12000", "phone": "13800138000"}
    assert record.versions.get().raw == {"name": "人12000", "phone": "13800138000"}
    assert (record.link_rule, record.link_detail, record.person) == ("", {}, None)


def test_changed_and_unchanged_records_are_told_apart(register: Source) -> None:
    first = records_store(register, incoming(10), source_import=None)
    person = person_placeholder(name="人0", sex="1")
    SourceRecord.objects.filter(pk=first.new[0]).update(person=person, link_rule=LinkRule.REVIEW)

    result = records_store(
        register,
        [*incoming(5, phone="021-1"), *incoming(5, start=5), *incoming(2, start=10)],
        source_import=None,
    )

    assert len(result.new) == 2
    assert sorted(result.changed) == sorted(first.new[:5])
    assert result.unchanged == 5
    changed = SourceRecord.objects.get(pk=first.new[0])
    assert (changed.version, changed.mapped["phone"]) == (2, "021-1")
    assert (changed.person, changed.link_rule) == (person, LinkRule.REVIEW)  # left to resolve
    assert [v.raw["phone"] for v in changed.versions.order_by("version")] == [
        "13800138000",
        "021-1",
    ]


def test_a_record_flagged_only_for_unreadable_values(register: Source) -> None:
    records = [
        IncomingRecord("a", {"x": "1"}, {}, [{"field": "sex", "value": "x", "kind": "unmapped"}]),
        IncomingRecord(
            "b", {"x": "2"}, {}, [{"field": "birth_date", "value": "x", "kind": "unreadable"}]
        ),
    ]

    records_store(register, records, source_import=None)

    assert dict(SourceRecord.objects.values_list("record_id", "flagged")) == {"a": False, "b": True}


def test_the_same_record_id_in_two_sources_is_two_records(register: Source) -> None:
    other = Source.objects.create(code="police", name="公安户籍")
    records_store(register, incoming(3), source_import=None)

    result = records_store(other, incoming(3), source_import=None)

    assert len(result.new) == 3
    assert SourceRecord.objects.count() == 6


def test_sources_list_carries_the_figures(tmp_path: Path) -> None:
    police = source_add("police", "公安户籍", POLICE_MAPPING, actor=None)
    source_add("health", "卫健", 'record_id: "{id}"\nfields:\n  name: "{n}"\n', actor=None)
    mapping_update(police, POLICE_MAPPING.replace("回族", "回"), actor=None)
    source_import(
        police,
        write_csv(tmp_path / "p.csv", [police_row(), police_row(人员编号="P2", 民族="壮族")]),
        actor=None,
    )

    health, listed_police = sources_list()

    assert (health.code, health.record_count, health.unmapped_count, health.mapping_version) == (
        "health",
        0,
        0,
        1,
    )
    assert health.last_import_id is None
    assert (listed_police.record_count, listed_police.unmapped_count) == (2, 1)
    assert listed_police.mapping_version == 2
    assert listed_police.last_import_id == imports_list(police).get().pk
    assert listed_police.last_import_status == "done"
    assert [u.value for u in unmapped_codes_list(police)] == ["壮族"]


def test_records_of_person_are_its_linked_records(register: Source) -> None:
    police = Source.objects.create(code="police", name="公安户籍")
    person = person_placeholder(name="张伟", sex="1")
    records_store(register, incoming(2), source_import=None)
    records_store(police, incoming(1), source_import=None)
    SourceRecord.objects.filter(record_id=f"resident_id:{0:018d}").update(person=person)

    found = records_of_person(person)

    assert [(r.source.code, r.record_id) for r in found] == [
        ("police", f"resident_id:{0:018d}"),
        ("register", f"resident_id:{0:018d}"),
    ]


def test_a_source_needs_a_free_well_formed_code_and_a_name() -> None:
    source_add("police", "公安户籍", POLICE_MAPPING, actor=None)

    for code, name, message in [
        ("police", "again", "there is already a source police"),
        ("公安", "公安", "source code '公安'"),
        ("civil_affairs", " ", "a source needs a name"),
    ]:
        with pytest.raises(SourceError, match=message):
            source_add(code, name, POLICE_MAPPING, actor=None)
    assert Source.objects.count() == 1
    assert SourceImport.objects.count() == 0
