"""``renfang golden refresh``: golden records recomputed after the district changed its
policy, for every person or the persons named."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from renfang.audit.models import AuditEvent
from renfang.linkage.resolve import resolve
from renfang.linkage.services import person_merge
from renfang.linkage.tests.conftest import LI_NA, Make, person_of, zhang
from renfang.people.golden.policy import POLICY_FILE, parse_policy
from renfang.people.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_people(record: Make) -> tuple[Person, Person]:
    """Zhang: civil affairs says married, health says unmarried; Li likewise."""
    zhang(record, "civil_affairs", "c-zhang", marital_status="20")
    zhang(record, "health", "h-zhang", marital_status="10")
    li = {"id_type": "resident_id", "id_number": LI_NA, "name": "李娜", "sex": "2"}
    record("civil_affairs", "c-li", marital_status="20", **li)
    record("health", "h-li", marital_status="10", **li)
    resolve()
    return (
        Person.objects.get(pk=person_of("health", "h-zhang")),
        Person.objects.get(pk=person_of("health", "h-li")),
    )


def _health_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """The district now takes marital status from health first."""
    text = POLICY_FILE.read_text(encoding="utf-8")
    changed = text.replace(
        'marital_status = ["civil_affairs", "*"]', 'marital_status = ["health", "*"]'
    )
    assert changed != text
    policy = parse_policy(changed, "test")
    monkeypatch.setattr("renfang.people.golden.refresh.golden_policy", lambda: policy)


@pytest.fixture
def health_first(monkeypatch: pytest.MonkeyPatch) -> None:
    _health_first(monkeypatch)


def _marital(person: Person) -> str:
    person.refresh_from_db()
    return str(person.golden["marital_status"]["value"])


def test_refresh_all_applies_a_changed_policy_to_everyone(
    two_people: tuple[Person, Person], health_first: None
) -> None:
    zhang_, li = two_people
    assert _marital(zhang_) == _marital(li) == "20"
    out = StringIO()

    call_command("golden", "refresh", "--all", "--no-progress", stdout=out)

    assert _marital(zhang_) == _marital(li) == "10"
    assert "2 persons" in out.getvalue()
    event = AuditEvent.objects.get(record_type="golden_refresh")
    assert (event.detail["persons"], event.detail["all"]) == (2, True)


def test_refresh_of_named_persons_leaves_the_others(
    two_people: tuple[Person, Person], health_first: None
) -> None:
    zhang_, li = two_people

    call_command(
        "golden", "refresh", "--person", str(zhang_.pk), "--no-progress", stdout=StringIO()
    )

    assert (_marital(zhang_), _marital(li)) == ("10", "20")


def test_a_merged_away_id_stands_for_its_survivor_and_an_unknown_one_is_refused(
    two_people: tuple[Person, Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    zhang_, li = two_people
    person_merge(zhang_, li, user=None, reason="test")
    _health_first(monkeypatch)

    with pytest.raises(CommandError, match="No person with the number 999999"):
        call_command("golden", "refresh", "--person", str(li.pk), "999999", stdout=StringIO())
    assert _marital(zhang_) == "20"  # nothing done

    call_command("golden", "refresh", "--person", str(li.pk), "--no-progress", stdout=StringIO())
    assert _marital(zhang_) == "10"


def test_refresh_needs_all_or_persons() -> None:
    with pytest.raises(CommandError):
        call_command("golden", "refresh", stdout=StringIO())
