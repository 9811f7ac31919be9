"""The access matrix, for what department readers write and choose (issue 11, findings 3, 5
and 6; ADR 0022): the matrix's world and clients (test_access_matrix), every planted record.

- Publisher scope: the department reader of A1, made a publisher of civil affairs, sends a
  record about every planted person. A person it may not see is never changed, never named in
  the answer, and the answer is the same as for an ID number nobody holds; a record stating a
  division outside its areas or a field outside its grant is refused (403) whatever the person.
- Subscription filters: every filter whose field the reader is not granted is refused by the
  API and the web form, and a grant that shrank suspends the feed.
- Provenance: no source is named to the department reader for any planted person it sees.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from renfang.accounts.access import forget_access
from renfang.accounts.models import PersonField, RoleGrant
from renfang.accounts.tests import test_access_matrix as matrix
from renfang.exchange.subscriptions import SubscriptionInvalid, subscription_create
from renfang.people.models import AttributeKind, PersonAttribute
from renfang.sources.models import HeldRecord, Source
from renfang.sources.services.publish.publishers import source_publishers_set
from renfang.testing.matrix import World
from renfang.testing.users import client_for

# The matrix's fixtures: its world (every planted record, sources, feed) and a client per role.
world = matrix.world
clients = matrix.clients
KEYS = matrix.KEYS
URL = "/api/sources/civil_affairs/records"
NOBODY = "11010519491231002X"  # a valid ID number no planted person holds
READER = "department_reader"


def _publisher(world: World, *extra: str) -> Client:
    reader = world.users[READER]
    RoleGrant.objects.filter(user=reader).update(
        fields=[PersonField.NAME, PersonField.SEX, PersonField.RESIDENCES, *extra]
    )
    forget_access(reader)
    source_publishers_set(
        Source.objects.get(code="civil_affairs"), add=[reader.get_username()], actor=None
    )
    return client_for(reader)


def _send(client: Client, record: dict[str, str]) -> tuple[int, dict[str, object]]:
    response = client.post(URL, json.dumps(record), content_type="application/json")
    return response.status_code, response.json()


def _marital(world: World, key: str) -> list[str]:
    return sorted(
        PersonAttribute.objects.filter(
            person=world.planted[key].person, kind=AttributeKind.MARITAL_STATUS
        ).values_list("value", flat=True)
    )


@pytest.mark.parametrize("key", KEYS)
def test_a_publisher_changes_and_names_no_one_outside_its_area(world: World, key: str) -> None:
    client = _publisher(world, PersonField.ID_NUMBER, PersonField.MARITAL_STATUS)
    planted = world.planted[key]
    before = _marital(world, key)

    status, body = _send(client, {"身份证号": planted.id_number, "婚姻": "已婚"})
    control_status, control = _send(client, {"身份证号": NOBODY, "婚姻": "已婚"})

    assert (status, control_status) == (200, 200)
    # The record and its status (civil affairs has a record of every planted person): the
    # same answer whether the person is in the area or not, the shape of an unknown ID's.
    assert body == {"record_id": planted.id_number, "status": "changed", "unmapped": []}
    assert control == {"record_id": NOBODY, "status": "new", "unmapped": []}
    held = HeldRecord.objects.filter(person_id=planted.person.pk).exists()
    if key in world.sees[READER]:
        assert not held
    else:
        assert held
        assert _marital(world, key) == before


@pytest.mark.parametrize("key", KEYS)
def test_a_field_outside_the_grant_is_refused_whoever_the_person(world: World, key: str) -> None:
    client = _publisher(world)  # no id_number, no marital status
    planted = world.planted[key]
    before = _marital(world, key)

    status, body = _send(client, {"身份证号": planted.id_number, "婚姻": "已婚"})

    assert status == 403
    error = body["error"]
    assert isinstance(error, dict) and error["code"] == "permission_denied"
    assert {f["field"] for f in error["fields"]} == {"id_number", "id_type", "marital_status"}
    assert _marital(world, key) == before


FILTERS: list[tuple[dict[str, object], str]] = [
    ({"categories": ["overseas"]}, "categories"),
    ({"categories": ["registered"]}, "categories"),
    ({"sex": "2"}, "sex"),
    ({"age_min": 15}, "age_min"),
    ({"age_max": 49}, "age_max"),
    ({"event_types": ["person.died"]}, "event_types"),
    ({"areas": ["310104004001"]}, "areas"),
]


@pytest.mark.parametrize(("values", "field"), FILTERS)
def test_every_filter_outside_the_grant_is_refused_by_the_api_and_the_form(
    world: World, values: dict[str, object], field: str
) -> None:
    reader = world.users[READER]
    RoleGrant.objects.filter(user=reader).update(fields=[PersonField.NAME])
    forget_access(reader)
    admin = client_for(world.users["district_admin"])

    api = admin.post(
        "/api/subscriptions",
        json.dumps({"subscriber": reader.get_username(), "name": "矩阵过滤", **values}),
        content_type="application/json",
    )
    form_values = {
        key: " ".join(map(str, value)) if isinstance(value, list) and key == "areas" else value
        for key, value in values.items()
    }
    page = admin.post(
        reverse("web:subscription_create"),
        {"subscriber": reader.pk, "name": "矩阵过滤", **form_values},
    )

    assert api.status_code == 422
    assert field in {f["field"] for f in api.json()["error"]["fields"]}
    assert page.status_code == 400
    assert field in page.context["form"].errors
    with translation.override("en"), pytest.raises(SubscriptionInvalid):
        subscription_create(user=None, subscriber=reader, name="矩阵过滤", **values)


def test_a_grant_that_shrank_suspends_every_filter(world: World) -> None:
    reader = world.users[READER]
    RoleGrant.objects.filter(user=reader).update(fields=list(PersonField.values))
    forget_access(reader)
    for number, (values, _field) in enumerate(FILTERS[:-1]):
        subscription_create(user=None, subscriber=reader, name=f"过滤{number}", **values)
    RoleGrant.objects.filter(user=reader).update(fields=[PersonField.NAME])
    forget_access(reader)
    client = client_for(reader)

    for subscription in reader.subscriptions.exclude(name="甲一全部"):
        body = client.get("/api/feed", {"subscription": subscription.pk}).json()
        assert body["events"] == [] and body["suspended"], subscription.name


@pytest.mark.parametrize("key", KEYS)
def test_the_provenance_names_no_source_to_the_department_reader(
    world: World, clients: dict[str, Client], key: str
) -> None:
    planted = world.planted[key]
    response = clients[READER].get(f"/api/people/{planted.person.pk}/provenance")
    if key not in world.sees[READER]:
        assert response.status_code == 404
        return
    text = response.content.decode()
    for told in ("police", "civil_affairs", "公安户籍", "民政"):
        assert told not in text
