"""The admin shows code sets and their codes, and does not let them be edited there."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_small_set_shows_its_codes_inline(admin_client):
    response = admin_client.get(reverse("admin:codes_codeset_change", args=["marital_status"]))

    assert response.status_code == 200
    assert "未说明的婚姻状况" in response.text
    assert 'name="_save"' not in response.text  # read only


def test_the_division_set_links_to_its_codes_instead_of_listing_three_thousand(admin_client):
    response = admin_client.get(reverse("admin:codes_codeset_change", args=["division"]))

    assert response.status_code == 200
    assert "浙江省温州市鹿城区" not in response.text
    assert "code_set__key__exact=division" in response.text


def test_codes_are_filtered_by_set_and_searched(admin_client):
    url = reverse("admin:codes_code_changelist")

    response = admin_client.get(url, {"code_set__key__exact": "nationality", "q": "香港"})

    assert response.status_code == 200
    assert "HKG" in response.text
    assert "USA" not in response.text


def test_codes_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:codes_code_add")).status_code == 403
    assert admin_client.get(reverse("admin:codes_codeset_add")).status_code == 403


def test_historic_division_codes_are_searched_and_not_edited(admin_client):
    url = reverse("admin:codes_historicdivision_changelist")

    response = admin_client.get(url, {"q": "南市"})

    assert response.status_code == 200
    assert "310102" in response.text
    assert "310222" not in response.text
    assert admin_client.get(reverse("admin:codes_historicdivision_add")).status_code == 403
