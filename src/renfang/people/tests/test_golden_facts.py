"""A person only department systems know gets the hukou and residence facts of the golden
record, so the area filter, the figures and the pages see them; a person renfang's own register
holds keeps the register's spells. The figures read what golden records maintain."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from renfang.areas.models import Area
from renfang.houses.models import House
from renfang.people.facts import hukou_record, residence_record
from renfang.people.golden import golden_refresh
from renfang.people.models import Hukou, IdentityRevision, Person, Residence
from renfang.people.selectors import people_visible_to
from renfang.stats.models import PopulationSpell
from renfang.stats.selectors import area_figures
from renfang.testing.areas import HUNAN, TIANPING, TIANPING_1, XUHUI, make_areas
from renfang.testing.people import placeholder as person
from renfang.testing.sources import record, zhang

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture(autouse=True)
def areas() -> dict[str, Area]:
    return make_areas()


@pytest.fixture
def house(areas) -> House:
    made: House = House.objects.create(
        house_code="310104003001000001",
        area=areas[TIANPING_1],
        road="天平路",
        number="1",
        address="天平路1号",
        kind="flat",
    )
    return made


def today() -> datetime.date:
    return timezone.localdate()


def figures(code: str, day: datetime.date | None = None) -> Any:
    return area_figures(area_code=code, as_of=day or today())


def test_a_person_known_only_to_departments_gets_hukou_and_residence_and_is_counted(house):
    someone = person()
    record(someone, "police", day=1, **zhang(hukou_division="310104003"))
    health = record(
        someone,
        "health",
        day=3,
        residence_division=TIANPING_1,
        residence_house_code=house.house_code,
        residence_from="2023-04-01",
    )
    before = figures(XUHUI)["actual_population"]["total"]

    golden_refresh([someone.pk])

    hukou = Hukou.objects.get(person=someone)
    assert (hukou.division, hukou.household_type, hukou.valid_from) == (TIANPING, "family", None)
    residence = Residence.objects.get(person=someone)
    assert (residence.division, residence.house, residence.valid_from) == (
        TIANPING_1,
        house,
        D(2023, 4, 1),
    )
    assert residence.valid_to is None
    assert PopulationSpell.objects.filter(person=someone).exists()
    after = figures(XUHUI)
    assert after["actual_population"]["total"] == before + 1
    assert after["actual_population"]["registered"] == 1
    assert figures(TIANPING)["hukou_status"]["consistent"] == 1
    assert figures(HUNAN)["actual_population"]["total"] == 0
    provenance = Person.objects.get(pk=someone.pk).golden
    assert provenance["residence_division"]["record"] == health.pk


def test_the_area_filter_finds_a_department_only_person(django_user_model):
    from renfang.accounts.models import Role, RoleGrant

    someone = person()
    record(someone, "police", **zhang(hukou_division="310104003001"))
    clerk = django_user_model.objects.create_user("clerk")
    RoleGrant.objects.create(user=clerk, role=Role.COMMITTEE_CLERK, area_id=TIANPING_1)
    assert not people_visible_to(clerk).filter(pk=someone.pk).exists()

    golden_refresh([someone.pk])

    assert people_visible_to(clerk).filter(pk=someone.pk).exists()


def test_a_residence_without_a_first_day_starts_the_day_it_was_received():
    someone = person()
    health = record(someone, "health", day=10, residence_division=TIANPING_1)

    golden_refresh([someone.pk])

    assert Residence.objects.get(person=someone).valid_from == timezone.localdate(
        health.received_at
    )


def test_a_new_hukou_from_the_police_closes_the_old_one_and_moves_the_figures():
    someone = person()
    police = record(someone, "police", **zhang(hukou_division="310104003"))
    golden_refresh([someone.pk])
    police.mapped = zhang(hukou_division="310104004")
    police.save()

    golden_refresh([someone.pk])

    yesterday = today() - datetime.timedelta(days=1)
    assert list(
        Hukou.objects.filter(person=someone)
        .order_by("pk")
        .values_list("division", "valid_from", "valid_to")
    ) == [("310104003", None, yesterday), ("310104004", today(), None)]
    assert figures(HUNAN)["hukou_status"]["registered_here_whereabouts_unknown"] == 1
    assert figures(TIANPING)["hukou_status"]["registered_total"] == 0
    assert figures(TIANPING, yesterday)["hukou_status"]["registered_total"] == 1


def test_a_new_residence_closes_the_old_spell_the_day_before():
    someone = person()
    health = record(someone, "health", residence_division=TIANPING_1, residence_from="2020-01-01")
    golden_refresh([someone.pk])
    health.mapped = {"residence_division": "310104004001", "residence_from": "2024-03-01"}
    health.save()

    golden_refresh([someone.pk])
    golden_refresh([someone.pk])

    assert list(
        Residence.objects.filter(person=someone)
        .order_by("valid_from")
        .values_list("division", "valid_from", "valid_to")
    ) == [
        (TIANPING_1, D(2020, 1, 1), D(2024, 2, 29)),
        ("310104004001", D(2024, 3, 1), None),
    ]


def test_a_person_the_register_holds_keeps_the_registers_spells():
    someone = person(id_type="resident_id", id_number=zhang()["id_number"], name="张伟", sex="1")
    hukou_record(person=someone, division="310104003", valid_from=D(1980, 1, 1))
    residence_record(person=someone, valid_from=D(2015, 1, 1), division=TIANPING_1)
    record(someone, "register", day=1, **zhang(hukou_division="310104003"))
    record(someone, "police", day=2, **zhang(hukou_division="310104004"))
    record(someone, "health", day=3, residence_division="310104004001")

    report = golden_refresh([someone.pk])

    assert list(Hukou.objects.filter(person=someone).values_list("division", flat=True)) == [
        "310104003"
    ]
    assert list(Residence.objects.filter(person=someone).values_list("division", flat=True)) == [
        TIANPING_1
    ]
    assert report.facts_added == 0
    # The golden record still says what the police hold, and the conflict shows it.
    refreshed = Person.objects.get(pk=someone.pk)
    assert refreshed.golden["hukou_division"]["source"] == "police"
    assert refreshed.conflicts.get().other_source == "register"


def test_a_birth_date_the_police_correct_is_the_persons_and_keeps_the_old_one():
    """There are no age groups in the figures yet: the corrected birth date is what the person
    page, the API and the register export read (Person.birth_date)."""
    someone = person(
        id_type="resident_id",
        id_number=zhang()["id_number"],
        name="张伟",
        sex="1",
        birth_date=D(1990, 1, 1),
    )
    record(someone, "register", day=1, **zhang(birth_date="1990-01-01"))
    record(someone, "police", day=2, **zhang(birth_date="1980-01-01"))

    golden_refresh([someone.pk])

    assert Person.objects.get(pk=someone.pk).birth_date == D(1980, 1, 1)
    revision = IdentityRevision.objects.get(person=someone)
    assert (revision.field, revision.old_value, revision.new_value) == (
        "birth_date",
        "1990-01-01",
        "1980-01-01",
    )


def test_a_nationality_the_police_correct_moves_the_person_between_categories():
    someone = person()
    police = record(someone, "police", **zhang(hukou_division=""))
    record(someone, "health", residence_division=TIANPING_1, residence_from="2020-01-01")
    golden_refresh([someone.pk])
    assert figures(XUHUI)["actual_population"]["domestic_migrant"] == 1

    police.mapped = {
        **zhang(hukou_division=""),
        "id_type": "passport",
        "id_number": "E1234567",
        "nationality": "USA",
    }
    police.save()
    golden_refresh([someone.pk])

    population = figures(XUHUI)["actual_population"]
    assert (population["overseas"], population["domestic_migrant"]) == (1, 0)
