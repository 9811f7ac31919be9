"""Property-based run over /api/schema (Schemathesis) as each role: no server error, and every
response matches the document: its status is documented and its body (error bodies included)
has the documented shape.

Generated requests mostly miss the planted records (random ids and codes), so each operation is
also called with the records of the world, so that the document is checked against full
answers too. Kept small: a few examples per operation, a few seconds per role.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from renfang.accounts.tokens import api_token_create
from renfang.exchange.tests.feed_world import plant_feed
from renfang.testing.sources import plant_sources
from renfang.wsgi import application

pytestmark = pytest.mark.django_db

ROLES = (
    "district_admin",
    "street_officer",
    "committee_clerk",
    "collector",
    "police",
    "department_reader",
    "auditor",
    "no_role",
)
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
EXAMPLES_PER_OPERATION = 6


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """Calling the WSGI application sends request_started/finished, whose handler closes a
    connection that is inside a transaction, the test's own (Django's test client disconnects
    it the same way)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _known_cases(world: Any, planted: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Requests about the world's records, by operation id: some visible to a role, some not."""
    a1, b1 = world.planted["A1"], world.planted["B1"]
    pairs = [{"path_parameters": {"pair_id": planted[k].pair.pk}} for k in ("A1", "B1")]
    conflicts = [{"path_parameters": {"conflict_id": planted[k].conflict.pk}} for k in ("A1", "B1")]
    area, street = world.areas["A1"].code, world.areas["A"].code
    people = [{"path_parameters": {"person_id": p.person.pk}} for p in (a1, b1)]
    houses = [{"path_parameters": {"house_code": p.house.house_code}} for p in (a1, b1)]
    subscription = {"subscription_id": plant_feed(world).pk}
    return {
        "people_list": [
            {"query": {"q": a1.person.name}},
            {"query": {"q": a1.id_number}},
            {"query": {"area": area, "as_of": "2024-06-30"}},
        ],
        "person_get": people,
        "person_residences_list": people,
        "person_identifier_unmask": [
            {**people[0], "body": {"field": "id_number", "purpose": "checking a declaration"}},
            {**people[0], "body": {"field": "phone", "purpose": ""}},
        ],
        "houses_list": [{"query": {"q": "路"}}, {"query": {"area": street}}],
        "house_get": houses,
        "house_residences_list": houses,
        "areas_list": [{"query": {}}, {"query": {"parent": street}}],
        "area_get": [{"path_parameters": {"code": code}} for code in (area, street, "310104")],
        "code_sets_list": [{}],
        "code_set_get": [{"path_parameters": {"code_set": "person_tag"}}],
        "stats_get": [{"query": {"area": area, "compare_to": "2019-06-30"}}],
        "search": [{"query": {"q": "甲一"}}],
        "search_lookup": [{"body": {"q": a1.id_number}}, {"body": {"q": b1.phone}}],
        "people_lookup": [{"body": {"q": a1.id_number}}, {"body": {"q": b1.phone}}],
        "me_get": [{}],
        "person_provenance_get": people,
        "person_merge": [
            {**people[0], "body": {"other": b1.person.pk, "reason": "same ID number"}},
            {**people[0], "body": {"other": a1.person.pk, "reason": "into itself"}},
        ],
        "person_split": [
            {**people[0], "body": {"records": [planted["B1"].civil.pk], "reason": "not theirs"}},
        ],
        "sources_list": [{"query": {}}],
        "source_get": [{"path_parameters": {"code": "civil_affairs"}}],
        "source_unmapped_codes_list": [{"path_parameters": {"code": "civil_affairs"}}],
        "unmapped_codes_list": [{"query": {"source": "civil_affairs"}}, {"query": {}}],
        # Nobody of the world publishes: every role is refused, whatever the record says.
        "source_record_publish": [
            {"path_parameters": {"code": "civil_affairs"}, "body": {"人员编号": "x1"}}
        ],
        # Held records (ADR 0022): none in the world; a missing one answers 404.
        "source_held_records_list": [{"path_parameters": {"code": "civil_affairs"}}],
        "source_held_record_decide": [
            {
                "path_parameters": {"code": "civil_affairs", "held_id": 987654},
                "body": {"apply": False},
            }
        ],
        "review_pairs_list": [{"query": {"status": "open"}}],
        "review_pair_get": pairs,
        "review_pair_decide": [{**pairs[1], "body": {"same": False, "note": "不同的人"}}],
        "conflicts_list": [{"query": {"status": "all"}}, {"query": {"area": area}}],
        "conflict_settle": [
            {**conflicts[0], "body": {"status": "visit", "note": ""}},
            {**conflicts[1], "body": {"status": "settled", "note": ""}},
        ],
        # The exchange: the department reader's feed, its as-of reads, the administrator's
        # subscriptions and webhooks.
        "feed_get": [{"query": {}}, {"query": {"after": 1, "limit": 2}}],
        "feed_person_get": [{**p, "query": {"as_of": "2024-06-30"}} for p in people],
        "feed_area_people_list": [
            {"path_parameters": {"division": area}, "query": {"as_of": "2024-06-30"}}
        ],
        "subscriptions_list": [{"query": {}}],
        "subscription_create": [
            {"body": {"subscriber": "m_reader", "name": "新订阅", "fields": ["name"]}},
            {"body": {"subscriber": "m_clerk", "name": "x", "areas": ["999"]}},
        ],
        "subscription_get": [{"path_parameters": subscription}],
        "subscription_update": [{"path_parameters": subscription, "body": {"active": True}}],
        "subscription_delete": [{"path_parameters": {"subscription_id": 987654}}],
        "subscription_webhook_create": [
            {"path_parameters": subscription, "body": {"url": "http://10.0.0.1/hook"}}
        ],
        "subscription_webhook_enable": [{"path_parameters": subscription}],
        "subscription_webhook_disable": [{"path_parameters": subscription, "body": {}}],
        "subscription_dead_letters_list": [{"path_parameters": subscription}],
        "subscription_dead_letter_resend": [
            {"path_parameters": {**subscription, "delivery_id": 987654}}
        ],
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.usefixtures("wsgi_in_test_transaction")
def test_responses_match_the_document_as_each_role(world, role) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema", application)
    key = api_token_create(user=world.users[role], name="schemathesis").key
    headers = {"Authorization": f"Bearer {key}"}
    known = _known_cases(world, plant_sources(world))
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert {op.definition.raw["operationId"] for op in operations} == set(known)

    for operation in operations:
        for request in known[operation.definition.raw["operationId"]]:
            case = operation.Case(**request)
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def generated(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

        generated()
