"""Masking: ID and phone numbers appear masked on every page and export for roles that do not
need them whole, in full for the police; sensitive tags and a department's fields only for
those entitled to them."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from renfang.accounts.access import mask_id_number, mask_phone
from renfang.accounts.models import Role
from renfang.audit.models import Action, AuditEvent
from renfang.testing.users import client_for, user_with_role

PHONE = "13800138000"


def text(response) -> str:
    """What the user can read in the response: the page, or every sheet of a workbook."""
    assert response.status_code == 200
    if "spreadsheetml" in response["Content-Type"]:
        with zipfile.ZipFile(io.BytesIO(response.content)) as book:
            return "".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
    return str(response.content.decode())


def everything_zhang_shows_up_in(district) -> list[str]:
    """Every page and export on which Zhang's ID number appears."""
    q = {"q": "张伟"}
    return [
        reverse("web:person_detail", args=[district.zhang.pk]),
        reverse("web:search") + "?q=张伟",
        reverse("web:search") + "?q=" + PHONE,
        reverse("web:house_detail", args=[district.house_tianping.house_code]),
        reverse("web:search_people_export") + "?q=" + q["q"],
    ]


@pytest.mark.parametrize("role", ["clerk", "officer", "street_tianping", "collector"])
def test_masked_roles_never_see_the_numbers_whole(role, request, district):
    if role in {"street_tianping", "collector"}:
        user = user_with_role(
            role,
            Role.STREET_OFFICER if role == "street_tianping" else Role.COLLECTOR,
            "310104003" if role == "street_tianping" else "310104003001",
        )
    else:
        user = request.getfixturevalue(role)
    client = client_for(user)
    id_number = district.zhang.id_number
    for url in everything_zhang_shows_up_in(district):
        shown = text(client.get(url, follow=True))
        assert id_number not in shown, url
        assert mask_id_number(id_number) in shown, url
        assert PHONE not in shown, url  # a search for the phone echoes it masked (ADR 0021)
    person_page = text(client.get(reverse("web:person_detail", args=[district.zhang.pk])))
    assert mask_phone(PHONE) in person_page


def test_the_police_see_the_numbers_whole_everywhere(police_client, district):
    id_number = district.zhang.id_number
    for url in everything_zhang_shows_up_in(district):
        assert id_number in text(police_client.get(url, follow=True)), url
    person_page = text(police_client.get(reverse("web:person_detail", args=[district.zhang.pk])))
    assert PHONE in person_page
    assert reverse("web:person_reveal", args=[district.zhang.pk]) not in person_page


def test_an_old_id_and_a_passport_number_are_masked_too(street_officer, district):
    client = client_for(street_officer)
    wang = text(client.get(reverse("web:person_detail", args=[district.wang.pk])))
    assert district.wang.id_number not in wang
    assert mask_id_number(district.wang.id_number) in wang
    smith = text(client.get(reverse("web:search"), {"q": "smith"}, follow=True))
    assert "E12345678" not in smith and "E1*****78" in smith
    assert "护照" in smith  # the kind of document is still said


def test_the_export_is_masked_and_audited(clerk, clerk_client, district):
    response = clerk_client.get(reverse("web:search_people_export"), {"q": "张"}, follow=True)
    assert mask_id_number(district.zhang.id_number) in text(response)
    event = AuditEvent.objects.get(user_id=clerk.pk, action=Action.EXPORT)
    assert (event.record_type, event.detail) == (
        "person",
        {
            "list": "people",
            "rows": 1,
            "terms": "张",
            "truncated": False,
            "person_ids": [district.zhang.pk],  # issue 11: who has read this person
        },
    )


def test_house_and_subarea_exports_are_audited(officer, officer_client, district):
    officer_client.get(reverse("web:search_houses_export"), {"q": "3101"}, follow=True)
    officer_client.get(
        reverse("web:area_subareas_export", args=["310104"]), {"as_of": "2025-01-01"}
    )
    exports = {
        e.record_type: (e.record_id, e.detail)
        for e in AuditEvent.objects.filter(user_id=officer.pk, action=Action.EXPORT)
    }
    assert exports == {
        "house": ("", {"list": "houses", "rows": 2, "terms": "3101", "truncated": False}),
        "area": (
            "310104",
            {"list": "subareas", "rows": 2, "terms": {"as_of": "2025-01-01", "compare_to": None}},
        ),
    }


def test_exports_hold_only_the_users_area(clerk_client, district):
    people = text(clerk_client.get(reverse("web:search_people_export"), {"q": "1"}, follow=True))
    houses = text(clerk_client.get(reverse("web:search_houses_export"), {"q": "3101"}, follow=True))
    assert "湖南路8号502室" not in houses and "天平路12号301室" in houses
    assert "John Smith" not in people


def tags_on_zhangs_page(client, district) -> set[str]:
    response = client.get(reverse("web:person_detail", args=[district.zhang.pk]))
    return {row.label for row in response.context["tags"]}


def test_sensitive_tags_only_for_roles_entitled_to_them(
    clerk_client, officer_client, police_client, district
):
    # Zhang: disabled (sensitive, a civil-affairs tag), elderly living alone (not sensitive).
    assert tags_on_zhangs_page(clerk_client, district) == {"残疾人", "独居老人"}
    assert tags_on_zhangs_page(officer_client, district) == {"独居老人"}
    assert tags_on_zhangs_page(police_client, district) == {"独居老人"}
    page = text(police_client.get(reverse("web:person_detail", args=[district.zhang.pk])))
    assert "残疾人" not in page  # not even a hint that a hidden tag exists


def test_a_department_reader_sees_only_the_granted_fields_and_tags(reader, district):
    client = client_for(reader)
    response = client.get(reverse("web:person_detail", args=[district.zhang.pk]))
    page = text(response)
    assert "张伟" in page and "男" in page
    assert {row.label for row in response.context["tags"]} == {"残疾人", "独居老人"}
    # Not granted: the ID number (not even masked), phone, residences, hukou, birth date.
    assert mask_id_number(district.zhang.id_number) not in page
    assert district.zhang.id_number[-4:] not in page
    assert mask_phone(PHONE) not in page and "已婚" not in page
    assert 'id="residences"' not in page and 'id="hukou"' not in page
    assert "1980-01-01" not in page
    assert "户籍人口" not in page  # the category tells where the hukou is
    search = client.get(reverse("web:search"), {"q": "张"}, follow=True)
    assert search.context["columns"] == {
        "name": True,
        "sex": True,
        "birth_date": False,
        "id_number": False,
        "lives_at": False,
    }
    assert district.zhang.id_number[-4:] not in text(search)
    export = text(client.get(reverse("web:search_people_export"), {"q": "张"}, follow=True))
    assert "张伟" in export and district.zhang.id_number[-4:] not in export
    assert "天平路" not in export
    house = client.get(reverse("web:house_detail", args=[district.house_tianping.house_code]))
    assert "张伟" not in text(house)  # who lives where is residence data


def test_a_reader_not_granted_names_gets_a_neutral_title(district):
    reader = user_with_role(
        "sexonly", Role.DEPARTMENT_READER, "310104", fields=["sex", "id_number"]
    )
    response = client_for(reader).get(
        reverse("web:search"), {"q": district.zhang.id_number}, follow=True
    )
    [title] = [row.title for row in response.context["people_rows"]]
    assert str(district.zhang.pk) in title and "张" not in title
    assert "张伟" not in text(response)


def test_a_reader_finds_people_only_by_the_fields_it_was_granted(district):
    reader = user_with_role("sexonly2", Role.DEPARTMENT_READER, "310104", fields=["sex"])
    client = client_for(reader)
    for term in ("张", district.zhang.id_number, "13800138000"):
        response = client.get(reverse("web:search"), {"q": term}, follow=True)
        assert list(response.context["people_rows"]) == [], term
