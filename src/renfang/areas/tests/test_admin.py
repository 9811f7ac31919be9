"""The admin lists and searches areas; an area added there follows the file's rules."""

from __future__ import annotations

import pytest
from django.urls import reverse

from renfang.areas.models import Area
from renfang.areas.services import areas_load_builtin

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shanghai():
    areas_load_builtin()


def test_areas_are_searched_by_name_and_filtered_by_level(admin_client):
    url = reverse("admin:areas_area_changelist")

    response = admin_client.get(url, {"q": "天平路", "level__exact": "street"})

    assert response.status_code == 200
    assert "310104003" in response.text


def test_an_area_added_in_the_admin_is_checked_like_a_file_row(admin_client):
    url = reverse("admin:areas_area_add")
    form = {"code": "310104003999", "name": "新居委会", "parent": "310104", "level": "street"}

    refused = admin_client.post(url, form)

    assert refused.status_code == 200
    assert "a street code has 9 digits" in refused.text
    assert not Area.objects.filter(code="310104003999").exists()

    accepted = admin_client.post(url, form | {"parent": "310104003", "level": "committee"})

    assert accepted.status_code == 302
    assert Area.objects.get(code="310104003999").parent_id == "310104003"


def test_an_areas_code_cannot_be_changed_in_the_admin(admin_client):
    url = reverse("admin:areas_area_change", args=["310104003"])

    admin_client.post(
        url, {"code": "310104099", "name": "天平街道", "parent": "310104", "level": "street"}
    )

    assert Area.objects.get(code="310104003").name == "天平街道"
    assert not Area.objects.filter(code="310104099").exists()
