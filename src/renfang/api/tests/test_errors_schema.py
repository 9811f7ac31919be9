"""One error shape everywhere, and the OpenAPI document and docs page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from renfang.api.main import API_VERSION
from renfang.api.tests.conftest import error_of

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("get", "/api/people"): "people_list",
    ("post", "/api/people/lookup"): "people_lookup",
    ("get", "/api/people/{person_id}"): "person_get",
    ("get", "/api/people/{person_id}/residences"): "person_residences_list",
    ("post", "/api/people/{person_id}/unmask"): "person_identifier_unmask",
    ("get", "/api/houses"): "houses_list",
    ("get", "/api/houses/{house_code}"): "house_get",
    ("get", "/api/houses/{house_code}/residences"): "house_residences_list",
    ("get", "/api/areas"): "areas_list",
    ("get", "/api/areas/{code}"): "area_get",
    ("get", "/api/codes"): "code_sets_list",
    ("get", "/api/codes/{code_set}"): "code_set_get",
    ("get", "/api/stats"): "stats_get",
    ("get", "/api/search"): "search",
    ("post", "/api/search"): "search_lookup",
    ("get", "/api/me"): "me_get",
    ("get", "/api/people/{person_id}/provenance"): "person_provenance_get",
    ("post", "/api/people/{person_id}/merge"): "person_merge",
    ("post", "/api/people/{person_id}/split"): "person_split",
    ("get", "/api/sources"): "sources_list",
    ("get", "/api/sources/{code}"): "source_get",
    ("get", "/api/sources/{code}/unmapped-codes"): "source_unmapped_codes_list",
    ("get", "/api/unmapped-codes"): "unmapped_codes_list",
    ("post", "/api/sources/{code}/records"): "source_record_publish",
    ("get", "/api/sources/{code}/held-records"): "source_held_records_list",
    ("post", "/api/sources/{code}/held-records/{held_id}/decision"): ("source_held_record_decide"),
    ("get", "/api/review-pairs"): "review_pairs_list",
    ("get", "/api/review-pairs/{pair_id}"): "review_pair_get",
    ("post", "/api/review-pairs/{pair_id}/decision"): "review_pair_decide",
    ("get", "/api/conflicts"): "conflicts_list",
    ("post", "/api/conflicts/{conflict_id}/settle"): "conflict_settle",
    ("get", "/api/feed"): "feed_get",
    ("get", "/api/feed/people/{person_id}"): "feed_person_get",
    ("get", "/api/feed/areas/{division}/people"): "feed_area_people_list",
    ("get", "/api/subscriptions"): "subscriptions_list",
    ("post", "/api/subscriptions"): "subscription_create",
    ("get", "/api/subscriptions/{subscription_id}"): "subscription_get",
    ("patch", "/api/subscriptions/{subscription_id}"): "subscription_update",
    ("delete", "/api/subscriptions/{subscription_id}"): "subscription_delete",
    ("post", "/api/subscriptions/{subscription_id}/webhook"): "subscription_webhook_create",
    ("post", "/api/subscriptions/{subscription_id}/webhook/enable"): "subscription_webhook_enable",
    ("post", "/api/subscriptions/{subscription_id}/webhook/disable"): (
        "subscription_webhook_disable"
    ),
    ("get", "/api/subscriptions/{subscription_id}/dead-letters"): (
        "subscription_dead_letters_list"
    ),
    ("post", "/api/subscriptions/{subscription_id}/dead-letters/{delivery_id}/resend"): (
        "subscription_dead_letter_resend"
    ),
}


def _document() -> dict[str, Any]:
    response = Client().get("/api/schema")
    assert response.status_code == 200  # public: it holds no one's data
    document: dict[str, Any] = response.json()
    return document


def test_the_document_describes_the_api(db) -> None:
    document = _document()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "renfang API"
    assert document["info"]["version"] == API_VERSION
    assert "Bearer" in document["info"]["description"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerTokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["SessionAuth"]["in"] == "cookie"


def test_operation_ids_are_stable_and_snake_case(db) -> None:
    found = {
        (method, path): operation["operationId"]
        for path, methods in _document()["paths"].items()
        for method, operation in methods.items()
    }
    assert found == OPERATIONS
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", op) for op in found.values())


def test_every_operation_is_described_and_documents_its_errors(db) -> None:
    for path, methods in _document()["paths"].items():
        for method, operation in methods.items():
            where = f"{method} {path}"
            assert operation["summary"] and operation["description"], where
            assert operation["security"], where
            responses = operation["responses"]
            assert "200" in responses, where
            for status in ("401", *[s for s in responses if s.startswith("4")]):
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, where
            if "{" in path:
                assert "404" in responses, where


def test_the_docs_page_uses_local_swagger_files_only(db) -> None:
    page = Client().get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "/static/ninja/swagger-ui.css" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "a script or style from elsewhere"
    for name in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui.css", "ninja/swagger-ui-init.js"):
        assert finders.find(name), name
    assert '"url": "/api/schema"' in html


def test_an_unknown_path_is_a_json_404(world, as_role) -> None:
    for path in ("/api/", "/api/nothing/here", "/api/people/1/nothing"):
        response = as_role("committee_clerk").get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"


def test_a_method_a_path_does_not_take_is_a_json_405(world, as_role) -> None:
    response = as_role("committee_clerk").delete("/api/people")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert response["Allow"] == "GET"


def test_a_body_that_is_not_json_is_a_bad_request(world, as_role) -> None:
    person = world.planted["A1"].person
    response = as_role("committee_clerk").post(
        f"/api/people/{person.pk}/unmask", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


def test_a_path_parameter_of_the_wrong_kind_is_named(world, as_role) -> None:
    response = as_role("committee_clerk").get("/api/people/zhang")
    assert response.status_code == 422
    assert error_of(response)["fields"][0]["field"] == "person_id"


def test_a_server_error_has_the_error_shape(world, as_role, monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("renfang.people.api.queries.person_get_for_user", broken)
    response = as_role("committee_clerk").get(f"/api/people/{world.planted['A1'].person.pk}")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error"
    assert "database" not in error["message"]  # no internals in the body


def test_messages_follow_accept_language(world) -> None:
    english = Client().get("/api/me", HTTP_ACCEPT_LANGUAGE="en")
    assert error_of(english)["message"].startswith("Authentication required")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/people", {"q": "张\x00伟"}, "q"),
        ("/api/houses", {"q": "\x00"}, "q"),
        ("/api/search", {"q": "a\x1fb"}, "q"),
        ("/api/houses/3101%00", {}, "house_code"),
        ("/api/codes/sex%00", {}, "code_set"),
        ("/api/areas/31%00", {}, "code"),
        ("/api/people/99999999999999999999", {}, "person_id"),
        ("/api/people/0", {}, "person_id"),
    ],
)
def test_control_characters_and_impossible_ids_are_refused_before_the_database(
    world, as_role, path, params, field
) -> None:
    """PostgreSQL cannot hold a NUL nor a number past 64 bits: refused as invalid, not a 500."""
    response = as_role("committee_clerk").get(path, params)
    assert response.status_code == 422
    assert [f["field"] for f in error_of(response)["fields"]] == [field]


def test_a_purpose_with_control_characters_is_refused(world, as_role) -> None:
    person = world.planted["A1"].person
    response = as_role("committee_clerk").post(
        f"/api/people/{person.pk}/unmask",
        {"field": "phone", "purpose": "visit\x00"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert [f["field"] for f in error_of(response)["fields"]] == ["purpose"]
