"""Bodies the API cannot take (issue 11, finding 14): too large, not JSON, not UTF-8, nested
without end, NUL characters, half surrogate pairs, NaN: each a clear 4xx error in the API's
error shape, never a 500, and nothing saved."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from renfang.exchange.tests.publishing import health_record
from renfang.exchange.tests.test_publish import URL, client, health, nothing_saved
from renfang.register.tests.test_import import reference

__all__ = ["client", "health", "reference"]  # fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


def _error(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"error"}
    return body["error"]  # type: ignore[no-any-return]


def test_a_body_over_the_limit_is_refused_with_413(client: Client) -> None:
    before = nothing_saved()
    body = json.dumps(health_record(备注="x" * 3_000_000))

    response = client.post(URL, body, content_type="application/json")  # Accept-Language: en

    assert response.status_code == 413
    error = _error(response)
    assert error["code"] == "payload_too_large"
    assert "too large" in error["message"] and "2,621,440 bytes" in error["message"]
    # In the language the client asks for, like every API answer.
    chinese = _error(
        client.post(URL, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    )
    assert chinese["message"] == "请求过大：最多接受 2,621,440 字节。"
    assert nothing_saved() == before


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        ("{not json", "application/json", "not valid JSON (line 1, column 2"),
        ('{"编号": "H1"', "application/json", "not valid JSON"),
        ("编号=H1", "application/x-www-form-urlencoded", "Content-Type: application/json"),
        ("hello", "text/plain", "Content-Type: application/json"),
        (b'{"\xff": 1}', "application/json", "not UTF-8"),
        ("[" * 100_000 + "]" * 100_000, "application/json", "nested deeper than 32 levels"),
        (json.dumps({**health_record(), "x": _deep(40)}), "application/json", "nested deeper"),
        ('{"编号": "H1", "x": NaN}', "application/json", "NaN is not a number"),
        ('{"编号": "H1", "x": -Infinity}', "application/json", "-Infinity is not a number"),
        ('{"编号": "H1", "x": 1e999}', "application/json", "too large a number"),
    ],
)
def test_a_body_the_api_cannot_read_is_a_clear_400(
    client: Client, body: str | bytes, content_type: str, says: str
) -> None:
    before = nothing_saved()

    response = client.generic("POST", URL, body, content_type=content_type)

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "bad_request"
    assert says in error["message"]
    assert nothing_saved() == before


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (json.dumps(health_record(姓名="张\u0000伟")), "姓名", "NUL character"),
        (json.dumps({**health_record(), "k\u0000": 1}), "k\\u0000", "NUL character"),
        ('{"编号": "H1", "姓名": "\\ud800"}', "姓名", "half a surrogate pair"),
        ('{"编号": "H1", "x": {"y": ["a", "b\\u0000"]}}', "x.y.1", "NUL character"),
    ],
)
def test_a_value_a_database_cannot_store_is_refused_naming_it(
    client: Client, body: str, field: str, says: str
) -> None:
    """A NUL character answered 500 on PostgreSQL (a text cannot hold one)."""
    before = nothing_saved()

    response = client.post(URL, body, content_type="application/json")

    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "validation_error"
    assert error["fields"] == [{"field": field, "message": error["fields"][0]["message"]}]
    assert says in error["fields"][0]["message"]
    assert nothing_saved() == before


def test_a_sound_body_still_goes_through(client: Client) -> None:
    response = client.post(URL, json.dumps(health_record()), content_type="application/json")
    assert response.status_code == 200
