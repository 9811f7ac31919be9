"""The houses load's audit: one write event per house created or changed (each field old and
new, the use closed and opened), one for the load; nothing when nothing changed or when the
file is refused."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from renfang.audit.models import Action, AuditEvent
from renfang.audit.services import audit_verify, canonical_detail, field_change
from renfang.core.csvimport import ImportRejected
from renfang.houses import services
from renfang.houses.services import houses_load
from renfang.houses.tests.test_houses_load import HEADER, ROWS, committee, write  # noqa: F401

pytestmark = pytest.mark.django_db

FIRST = "310104003001000001"


def house_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(record_type="house").order_by("id"))


def load_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(record_type="import").order_by("id"))


def test_each_new_house_is_recorded_with_its_fields_and_use(tmp_path) -> None:
    houses_load(path=write(tmp_path, HEADER + ROWS))

    events = house_events()
    assert [event.record_id for event in events] == [
        FIRST,
        "310104003001000002",
        "310104003001000003",
    ]
    first = events[0]
    assert (first.action, first.username, first.user_id) == (Action.WRITE, "system", None)
    assert first.detail == {
        "changes": [
            {"field": "area", "old": None, "new": "310104003001"},
            {"field": "road", "old": None, "new": "漕溪北路"},
            {"field": "number", "old": None, "new": "18"},
            {"field": "building", "old": None, "new": "3"},
            {"field": "unit", "old": None, "new": "2"},
            {"field": "room", "old": None, "new": "501"},
            {"field": "kind", "old": None, "new": "flat"},
            {"field": "floor_area", "old": None, "new": "85.50"},
            {"field": "rooms", "old": None, "new": 3},
            {"field": "latitude", "old": None, "new": "31.191234"},
            {"field": "longitude", "old": None, "new": "121.437654"},
            {"field": "address", "old": None, "new": "漕溪北路18号3幢2单元501室"},
            {
                "field": "use",
                "old": None,
                "new": {"use": "owner_occupied", "from": "2015-06-01", "to": None},
            },
        ],
        "source": "houses load houses.csv",
    }
    # A shop with no number, no use: only what it has.
    assert [change["field"] for change in events[2].detail["changes"]] == [
        "area",
        "road",
        "number",
        "kind",
        "address",
    ]
    assert audit_verify().ok


def test_the_load_is_one_event_with_its_counts(tmp_path) -> None:
    houses_load(path=write(tmp_path, HEADER + ROWS))

    (event,) = load_events()
    assert event.record_id == "houses.csv"
    assert {key: event.detail[key] for key in event.detail if key != "os_user"} == {
        "source": "houses load",
        "file": "houses.csv",
        "houses_created": 3,
        "houses_updated": 0,
        "houses_unchanged": 0,
        "uses_opened": 2,
        "uses_closed": 0,
    }


def test_loading_the_same_file_again_records_only_the_load(tmp_path) -> None:
    path = write(tmp_path, HEADER + ROWS)
    houses_load(path=path)
    before = AuditEvent.objects.count()

    houses_load(path=path)

    assert AuditEvent.objects.count() == before + 1
    assert load_events()[-1].detail["houses_unchanged"] == 3


def test_a_changed_field_and_use_record_old_and_new(tmp_path, django_user_model) -> None:
    houses_load(path=write(tmp_path, HEADER + ROWS))
    manager: User = django_user_model.objects.create_user("manager", password="x")
    changed = ROWS.replace(
        "漕溪北路,18,3,2,501,flat,owner_occupied,2015-06-01",
        "漕溪北路,18,3,2,601,flat,group_rental,2024-03-01",
    )

    houses_load(path=write(tmp_path, HEADER + changed, name="fix.csv"), actor=manager)

    (event,) = [e for e in house_events() if e.username == "manager"]
    assert event.record_id == FIRST
    assert event.detail["source"] == "houses load fix.csv"
    assert event.detail["changes"] == [
        {"field": "room", "old": "501", "new": "601"},
        {
            "field": "address",
            "old": "漕溪北路18号3幢2单元501室",
            "new": "漕溪北路18号3幢2单元601室",
        },
        {
            "field": "use",
            "old": {"use": "owner_occupied", "from": "2015-06-01", "to": None},
            "new": {"use": "owner_occupied", "from": "2015-06-01", "to": "2024-02-29"},
        },
        {
            "field": "use",
            "old": None,
            "new": {"use": "group_rental", "from": "2024-03-01", "to": None},
        },
    ]
    assert load_events()[-1].user_id == manager.pk
    assert audit_verify().ok


def test_a_refused_file_records_nothing(tmp_path) -> None:
    houses_load(path=write(tmp_path, HEADER + ROWS))
    before = AuditEvent.objects.count()

    with pytest.raises(ImportRejected):
        houses_load(path=write(tmp_path, HEADER + ROWS + "bad,999,路,flat,,,,,,,,,,\n"))

    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("road", ['引号"路', "反斜杠\\路", "tab\t路", "𠀀路"])
def test_a_new_houses_detail_text_is_exactly_the_canonical_form(road: str) -> None:
    # The load writes new houses' details as text straight away, for speed; the text must be
    # what canonical JSON of the generic structure is, or verify would call it altered.
    values = {
        "area_id": "310104003001",
        "road": road,
        "number": "18",
        "building": "",
        "unit": "",
        "room": "",
        "kind": "flat",
        "floor_area": Decimal("85.50"),
        "rooms": 3,
        "latitude": None,
        "longitude": Decimal("-121.437654"),
        "address": f"{road}18号",
    }

    text = services._new_house_detail(values, "vacant", datetime.date(2020, 1, 2), "houses load x")

    generic = services._house_changes({}, values)
    generic = [change for change in generic if change["new"] not in (None, "")]
    generic.append(field_change("use", None, {"use": "vacant", "from": "2020-01-02", "to": None}))
    assert text == canonical_detail({"changes": generic, "source": "houses load x"})
