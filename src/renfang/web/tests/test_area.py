"""The area page: the figures of the register as tables and charts, on any date."""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpResponse
from django.urls import reverse

AREA = reverse("web:area_detail", args=["310104"])


def chart_data(response: HttpResponse) -> Any:
    match = re.search(
        r'<script id="area-chart-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page embeds its chart data"
    return json.loads(match.group(1))


def test_district_figures_today(officer_client, district):
    response = officer_client.get(AREA)
    assert response.status_code == 200
    population = {row.key: row.value for row in response.context["population"]}
    assert population == {"registered": 1, "domestic_migrant": 1, "overseas": 1, "total": 3}
    hukou = {row.key: row.value for row in response.context["hukou_rows"]}
    assert hukou["consistent"] == 1
    assert hukou["registered_here_whereabouts_unknown"] == 1
    assert response.context["registered_total"] == 2
    assert [(row.code, row.total) for row in response.context["subareas"]] == [
        ("310104003", 1),
        ("310104004", 2),
    ]


def test_chart_data_feeds_both_charts(officer_client, district):
    data = chart_data(officer_client.get(AREA))
    assert [entry["value"] for entry in data["categories"]] == [1, 1, 1]
    assert data["subareas"]["names"] == ["天平路街道", "湖南路街道"]
    totals = [
        sum(values) for values in zip(*(s["data"] for s in data["subareas"]["series"]), strict=True)
    ]
    assert totals == [1, 2]
    html = officer_client.get(AREA).content.decode()
    assert "/static/web/vendor/echarts.min.js" in html
    assert 'id="category-chart"' in html and 'id="subarea-chart"' in html


def test_figures_as_of_an_earlier_date_and_compared(officer_client, district):
    response = officer_client.get(AREA, {"as_of": "2019-01-01", "compare_to": "2016-01-01"})
    rows = {row.key: row for row in response.context["population"]}
    assert rows["total"].value == 3  # Zhang, Li and Wang lived here then; Smith came later
    assert rows["registered"].value == 2
    assert rows["total"].previous == 2  # Zhang and Wang in 2016; Li came in 2018
    assert rows["total"].growth_pct == 50.0
    assert rows["domestic_migrant"].previous == 0
    assert rows["domestic_migrant"].growth_pct is None  # no growth from nobody
    html = response.content.decode()
    assert "2016-01-01" in html and "+50.00 %" in html


def test_subarea_links_keep_the_dates(officer_client, district):
    html = officer_client.get(AREA, {"as_of": "2019-01-01"}).content.decode()
    assert reverse("web:area_detail", args=["310104003"]) + "?as_of=2019-01-01" in html
    assert reverse("web:area_subareas_export", args=["310104"]) + "?as_of=2019-01-01" in html


def test_breadcrumb_and_a_leaf_area(officer_client, district):
    # The Tianping committee's grid: the leaf of the test world's tree.
    response = officer_client.get(reverse("web:area_detail", args=["310104003001001"]))
    assert [a.code for a in response.context["breadcrumb"]] == [
        "31",
        "310104",
        "310104003",
        "310104003001",
        "310104003001001",
    ]
    assert response.context["subareas"] == []
    assert 'id="subarea-chart"' not in response.content.decode()


def test_a_bad_date_is_answered_not_crashed(officer_client, district):
    response = officer_client.get(AREA, {"as_of": "2019-02-30"})
    assert response.status_code == 400
    assert response.context["form"].errors["as_of"]
    assert "population" not in response.context
    export = officer_client.get(
        reverse("web:area_subareas_export", args=["310104"]), {"compare_to": "yesterday"}
    )
    assert export.status_code == 400


def test_unknown_area_export_is_404(officer_client, district):
    response = officer_client.get(reverse("web:area_subareas_export", args=["319999"]))
    assert response.status_code == 404
