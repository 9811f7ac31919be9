"""Excel exports: the same filter as the page, opened back with openpyxl, capped and said so."""

from __future__ import annotations

import io
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from openpyxl import load_workbook

from renfang.accounts.access import mask_id_number
from renfang.web.exports import XLSX_CONTENT_TYPE


def rows_of(response: HttpResponse) -> list[tuple[Any, ...]]:
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert response["Content-Disposition"].startswith("attachment; filename=")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_people_export_has_the_search_results(officer_client, district):
    rows = rows_of(
        officer_client.get(reverse("web:search_people_export"), {"q": "李"}, follow=True)
    )
    header, *data = rows
    assert header[0] == "姓名"
    assert len(data) == 1
    name, sex, birth_date, id_type, id_number, nationality, lives_at = data[0]
    assert (name, sex, id_number, lives_at) == (
        "李娜",
        "女性",
        mask_id_number(district.li.id_number),  # the district administrator sees it masked
        "湖南路8号502室",
    )
    assert birth_date.date().isoformat() == "1990-02-15"


def test_people_export_by_phone_and_empty_query(officer_client, district):
    by_phone = rows_of(
        officer_client.get(
            reverse("web:search_people_export"), {"q": "+86 13800138000"}, follow=True
        )
    )
    assert [row[0] for row in by_phone[1:]] == ["张伟"]
    empty = rows_of(officer_client.get(reverse("web:search_people_export"), {"q": ""}, follow=True))
    assert len(empty) == 1  # the header only


def test_houses_export_has_the_search_results(officer_client, district):
    rows = rows_of(
        officer_client.get(reverse("web:search_houses_export"), {"q": "3101040"}, follow=True)
    )
    assert [row[0] for row in rows[1:]] == ["310104003001000001", "310104004001000002"]
    code, address, area_code, area, kind, use, floor_area, rooms = rows[1]
    assert (address, area_code, area, use, rooms) == (
        "天平路12号301室",
        "310104003001",
        "天平居委会",
        "整套出租",
        2,
    )


def test_export_is_capped_and_says_so(officer_client, district, monkeypatch):
    monkeypatch.setattr("renfang.web.views.search.EXPORT_LIMIT", 1)
    monkeypatch.setattr("renfang.web.exports.EXPORT_LIMIT", 1)
    rows = rows_of(
        officer_client.get(reverse("web:search_houses_export"), {"q": "3101"}, follow=True)
    )
    assert len(rows) == 3  # header, one house, the note
    assert "1" in rows[2][0] and rows[2][1:] == (None,) * (len(rows[2]) - 1)


def test_search_page_says_when_the_export_is_capped(officer_client, district, monkeypatch):
    monkeypatch.setattr("renfang.web.views.search.EXPORT_LIMIT", 1)
    html = officer_client.get(reverse("web:search"), {"q": "3101"}, follow=True).content.decode()
    assert "导出只包含前 1 行" in html
    assert "最多 1 行" in html


def test_subarea_export_has_one_row_per_subarea(officer_client, district):
    response = officer_client.get(
        reverse("web:area_subareas_export", args=["310104"]), {"as_of": "2025-01-01"}
    )
    header, *data = rows_of(response)
    assert len(header) == 6
    assert data == [
        ("310104003", "天平路街道", 1, 1, 0, 0),
        ("310104004", "湖南路街道", 2, 0, 1, 1),
    ]
    assert "310104-2025-01-01" in response["Content-Disposition"]
