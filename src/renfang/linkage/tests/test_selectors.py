"""Reads of linkage: the review queue by area, one pair, the links export, the commands."""

from __future__ import annotations

import csv
import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from renfang.accounts.models import Role
from renfang.accounts.tests.conftest import Areas, areas, make_user  # noqa: F401 (fixture)
from renfang.audit.models import AuditEvent
from renfang.linkage.models import ReviewPair
from renfang.linkage.resolve import resolve
from renfang.linkage.selectors import (
    links_export,
    review_pair_get_for_user,
    review_pairs_for_user,
)
from renfang.linkage.services import person_merge
from renfang.linkage.tests.conftest import LI_NA, Make, person_of, zhang
from renfang.people.facts.planting import by_hand
from renfang.people.models import Person, Residence
from renfang.sources.models import SourceRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(record: Make, areas: Areas, settings: pytest.FixtureRequest) -> ReviewPair:  # noqa: F811
    """One pair to review, between records of two persons living in committee 天平."""
    settings.RENFANG_LINK_THRESHOLD = 1.0  # type: ignore[attr-defined]
    zhang(record, "police", "p-zhang")
    zhang(record, "civil_affairs", "c-zhang", id_number="", name="张玮", birth_date="1980-01-02")
    resolve()
    for record_id in ("p-zhang", "c-zhang"):
        with by_hand():  # beside the residence the golden record gave them from today
            Residence.objects.create(
                person_id=person_of(*_where(record_id)),
                division=areas.committee.code,
                valid_from=datetime.date(2020, 1, 1),
            )
    return ReviewPair.objects.get()


def _where(record_id: str) -> tuple[str, str]:
    return SourceRecord.objects.get(record_id=record_id).source.code, record_id


def test_the_queue_shows_pairs_of_the_users_area_only(
    queue: ReviewPair,
    areas: Areas,  # noqa: F811
) -> None:
    clerk = make_user("clerk", Role.COMMITTEE_CLERK, area=areas.committee)
    stranger = make_user("other", Role.COMMITTEE_CLERK, area=areas.sibling)

    assert list(review_pairs_for_user(clerk)) == [queue]
    assert list(review_pairs_for_user(stranger)) == []
    assert list(review_pairs_for_user(clerk, status="same")) == []
    assert list(review_pairs_for_user(clerk, status=None)) == [queue]


def test_one_pair_is_read_with_an_audit_and_outside_the_area_is_not_found(
    queue: ReviewPair,
    areas: Areas,  # noqa: F811
) -> None:
    clerk = make_user("clerk", Role.COMMITTEE_CLERK, area=areas.committee)
    stranger = make_user("other", Role.COMMITTEE_CLERK, area=areas.sibling)

    assert review_pair_get_for_user(clerk, queue.pk) == queue
    with pytest.raises(ReviewPair.DoesNotExist):
        review_pair_get_for_user(stranger, queue.pk)
    with pytest.raises(ReviewPair.DoesNotExist):
        review_pair_get_for_user(clerk, queue.pk + 100)

    assert AuditEvent.objects.filter(
        action="read", record_type="review_pair", username="clerk"
    ).exists()
    assert AuditEvent.objects.filter(
        action="denied", record_type="review_pair", username="other"
    ).exists()


def test_a_pair_straddling_two_areas_is_only_for_a_level_that_sees_both(
    queue: ReviewPair,
    areas: Areas,  # noqa: F811
) -> None:
    # The civil affairs record's person lives in the sibling committee, not in 天平.
    with by_hand():
        Residence.objects.filter(person_id=person_of(*_where("c-zhang"))).update(
            division=areas.sibling.code
        )
    clerk = make_user("clerk", Role.COMMITTEE_CLERK, area=areas.committee)
    neighbour = make_user("other", Role.COMMITTEE_CLERK, area=areas.sibling)
    street = make_user("street", Role.STREET_OFFICER, area=areas.street)

    assert list(review_pairs_for_user(clerk)) == []
    assert list(review_pairs_for_user(neighbour)) == []
    assert list(review_pairs_for_user(street)) == [queue]
    for outsider in (clerk, neighbour):
        with pytest.raises(ReviewPair.DoesNotExist):
            review_pair_get_for_user(outsider, queue.pk)
    assert review_pair_get_for_user(street, queue.pk) == queue


def test_a_pair_with_a_record_not_linked_yet_is_the_linked_sides_area(
    queue: ReviewPair,
    areas: Areas,  # noqa: F811
) -> None:
    SourceRecord.objects.filter(record_id="c-zhang").update(person=None)
    clerk = make_user("clerk", Role.COMMITTEE_CLERK, area=areas.committee)
    neighbour = make_user("other", Role.COMMITTEE_CLERK, area=areas.sibling)

    assert list(review_pairs_for_user(clerk)) == [queue]
    assert list(review_pairs_for_user(neighbour)) == []


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_links_export_names_every_record_and_the_survivor_of_a_merge(
    record: Make, tmp_path: Path
) -> None:
    zhang(record, "police", "p-zhang")
    zhang(record, "health", "h-zhang")
    record("police", "p-li", id_type="resident_id", id_number=LI_NA, name="李娜")
    record("hrss", "s-new", name="新来的")
    resolve()
    record("education", "e-late", name="还没有链接")
    li, zhang_ = (Person.objects.get(pk=person_of("police", code)) for code in ("p-li", "p-zhang"))
    person_merge(zhang_, li, user=User.objects.create_user("officer"), reason="test")
    path = tmp_path / "links.csv"

    rows = links_export(path)

    assert rows == 5
    exported = _rows(path)
    assert exported[0] == ["source", "record_id", "person_id"]
    by_record = {(source, record_id): person for source, record_id, person in exported[1:]}
    assert by_record[("police", "p-li")] == str(zhang_.pk)
    assert by_record[("police", "p-zhang")] == by_record[("health", "h-zhang")] == str(zhang_.pk)
    assert by_record[("education", "e-late")] == ""
    assert AuditEvent.objects.filter(action="export", record_type="links").exists()


def test_the_commands_resolve_and_export(record: Make, tmp_path: Path) -> None:
    zhang(record, "police", "p-zhang")
    zhang(record, "health", "h-zhang")
    out = StringIO()

    call_command("resolve", "--no-progress", stdout=out)

    assert "resolved 2 records" in out.getvalue()
    assert "2 linked by ID" in out.getvalue()
    assert "1 new persons" in out.getvalue()
    out = StringIO()
    call_command("links", "export", str(tmp_path / "links.csv"), stdout=out)
    assert "exported 2 links" in out.getvalue()
    assert len(_rows(tmp_path / "links.csv")) == 3
