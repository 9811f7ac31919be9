"""The person, house and area pages, their 404s, the language switch and the login page."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from renfang.accounts.access import mask_id_number, mask_phone
from renfang.people.categories import Category
from renfang.people.facts import (
    attribute_record,
    hukou_record,
    person_create,
    residence_record,
    tag_record,
)
from renfang.people.facts.planting import by_hand
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import Residence
from renfang.testing.users import client_for
from renfang.web.labels import CATEGORY_LABEL_ONE


def page(response: HttpResponseBase) -> str:
    assert response.status_code == 200
    assert isinstance(response, HttpResponse)
    return response.content.decode()


def test_person_page_shows_identity_category_and_history(officer_client, district):
    html = page(officer_client.get(reverse("web:person_detail", args=[district.zhang.pk])))
    assert "张伟" in html
    assert mask_id_number(district.zhang.id_number) in html  # a district admin sees it masked
    assert "居民身份证" in html or "resident ID card" in html
    assert "男" in html  # sex label from the code set
    assert "汉族" in html  # ethnicity 01
    assert "中国" in html  # nationality CHN
    assert "上海市徐汇区天平路街道" in html  # hukou division by name
    assert "天平路12号301室" in html  # hukou address and house
    assert reverse("web:house_detail", args=["310104003001000001"]) in html
    assert mask_phone("13800138000") in html and "13800138000" not in html
    assert "已婚" in html  # marital status 20
    assert "独居老人" in html  # not sensitive
    assert "残疾人" not in html  # sensitive: the district administrator's role has no tags


def test_person_page_derives_the_category_today(officer_client, district):
    for person, expected in (
        (district.zhang, Category.REGISTERED),
        (district.li, Category.DOMESTIC_MIGRANT),
        (district.smith, Category.OVERSEAS),
        (district.wang, Category.REGISTERED),  # whereabouts unknown, hukou still in the city
    ):
        response = officer_client.get(reverse("web:person_detail", args=[person.pk]))
        assert response.context["category_label"] == CATEGORY_LABEL_ONE[expected], person.name


def test_person_page_marks_sensitive_tags_only(clerk_client, district):
    response = clerk_client.get(reverse("web:person_detail", args=[district.zhang.pk]))
    tags = {row.label: row.sensitive for row in response.context["tags"]}
    assert tags == {"残疾人": True, "独居老人": False}
    assert page(response).count('class="badge sensitive"') == 1


def test_person_page_shows_whereabouts_unknown(officer_client, district):
    response = officer_client.get(reverse("web:person_detail", args=[district.wang.pk]))
    rows = response.context["residences"]
    assert [row.division for row in rows] == [None, "310104004"]
    assert rows[0].current
    assert "whereabouts unknown" in page(response) or "下落不明" in page(response)


def test_person_page_lists_residences_newest_first_with_links(officer_client, district):
    response = officer_client.get(reverse("web:person_detail", args=[district.li.pk]))
    rows = response.context["residences"]
    assert [row.house.house_code for row in rows] == ["310104004001000002", "310104003001000001"]
    assert [row.current for row in rows] == [True, False]
    assert "浙江省杭州市上城区" in page(response) or "330102" in page(response)


def test_person_page_names_a_historic_hukou_code_with_its_vintage(officer_client, district):
    # Given a migrant whose hukou is coded 镇海县 330221, a county of Ningbo re-coded in 1985
    migrant = person_create(
        id_type="resident_id",
        id_number=with_check_digit("33022119700101001"),
        name="王海",
        sex="1",
        birth_date=datetime.date(1970, 1, 1),
    )
    hukou_record(person=migrant, division="330221", valid_from=datetime.date(1970, 1, 1))
    residence_record(person=migrant, division="310104003", valid_from=datetime.date(2020, 1, 1))

    # When an officer opens the person's page (in Chinese)
    response = officer_client.get(
        reverse("web:person_detail", args=[migrant.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    # Then the hukou is named, with the year the code left the standard, not shown as a code
    assert "浙江省宁波市镇海县（1985年前）" in page(response)


def test_person_page_hides_retracted_facts(officer_client, district):
    with by_hand():  # retracted by hand
        Residence.objects.filter(person=district.li, valid_to__isnull=False).update(
            retracted_at=timezone.now()
        )
    response = officer_client.get(reverse("web:person_detail", args=[district.li.pk]))
    assert len(response.context["residences"]) == 1


def _queries(client, url) -> int:
    client.get(url)  # fills the code-label and division-name caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_person_page_query_count_does_not_grow_with_history(officer_client, district):
    url = reverse("web:person_detail", args=[district.zhang.pk])  # one fact of each kind
    before = _queries(officer_client, url)
    for year in range(2000, 2010):
        residence_record(
            person=district.zhang,
            valid_from=datetime.date(year, 1, 1),
            valid_to=datetime.date(year, 12, 31),
            house=district.house_hunan,
        )
        tag_record(person=district.zhang, tag="disabled", valid_from=datetime.date(year, 1, 1))
        attribute_record(
            person=district.zhang,
            kind="phone",
            value=f"1390000{year}",
            valid_from=datetime.date(year, 1, 1),
        )
    # Session, user, roles, the person and each kind of fact, areas, tags' sensitivity, and
    # the read's audit event (six statements: the chain's head is locked and moved).
    assert _queries(officer_client, url) == before <= 22


def test_house_page_query_count_does_not_grow_with_residents(officer_client, district):
    url = reverse("web:house_detail", args=[district.house_hunan.house_code])
    before = _queries(officer_client, url)
    for index in range(10):
        person = person_create(
            id_type="passport",
            id_number=f"Q{index}",
            name=f"Q {index}",
            sex="9",
            birth_date=None,
            nationality="GBR",
        )
        residence_record(
            person=person, valid_from=datetime.date(2001, 1, 1 + index), house=district.house_hunan
        )
    assert _queries(officer_client, url) == before <= 20


def test_unknown_person_house_and_area_are_404(officer_client, district):
    assert officer_client.get(reverse("web:person_detail", args=[999999])).status_code == 404
    assert officer_client.get("/people/abc/").status_code == 404
    assert officer_client.get(reverse("web:house_detail", args=["999"])).status_code == 404
    assert officer_client.get(reverse("web:area_detail", args=["999999"])).status_code == 404
    assert officer_client.get(reverse("web:area_detail", args=["x'--"])).status_code == 404


def test_house_page_shows_use_and_who_lives_there_now_and_before(officer_client, district):
    url = reverse("web:house_detail", args=[district.house_tianping.house_code])
    response = officer_client.get(url)
    html = page(response)
    assert "天平路12号301室" in html
    assert [a.code for a in response.context["breadcrumb"]] == [
        "31",
        "310104",
        "310104003",
        "310104003001",
    ]
    assert [r.person.title for r in response.context["residents_now"]] == ["张伟"]
    assert [r.person.title for r in response.context["residents_before"]] == ["李娜"]
    assert reverse("web:person_detail", args=[district.li.pk]) in html
    assert [row["label"] for row in response.context["uses"]] == ["整套出租", "自住"] or [
        row["use"].use for row in response.context["uses"]
    ] == ["rented_whole", "owner_occupied"]
    assert response.context["uses"][0]["current"] is True


def test_house_page_shows_someone_moving_in_later(officer_client, district):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    newcomer = person_create(
        id_type="passport",
        id_number="X1",
        name="Newcomer",
        sex="9",
        birth_date=None,
        nationality="GBR",
    )
    residence_record(person=newcomer, valid_from=tomorrow, house=district.house_tianping)
    response = officer_client.get(
        reverse("web:house_detail", args=[district.house_tianping.house_code])
    )
    assert [r.person.title for r in response.context["residents_later"]] == ["Newcomer"]


def test_home_links_to_the_district(officer_client, district):
    html = page(officer_client.get(reverse("web:home")))
    assert reverse("web:area_detail", args=["310104"]) in html
    # Streets are reached from the district, not listed at home.
    assert reverse("web:area_detail", args=["310104003"]) not in html


def test_only_user_administrators_see_the_admin_link(officer_client, clerk_client, admin_user):
    assert reverse("admin:index") in page(officer_client.get(reverse("web:home")))
    assert reverse("admin:index") not in page(clerk_client.get(reverse("web:home")))
    # Being a superuser is nothing special for the register: a role is.
    assert reverse("admin:index") not in page(client_for(admin_user).get(reverse("web:home")))


def test_chinese_by_default_english_after_the_switch(officer_client, district):
    url = reverse("web:person_detail", args=[district.zhang.pk])
    chinese = page(officer_client.get(url))
    assert 'lang="zh-hans"' in chinese
    assert "退出" in chinese and "户籍" in chinese
    response = officer_client.post(reverse("set_language"), {"language": "en", "next": url})
    assert response.status_code == 302 and response["Location"] == url
    english = page(officer_client.get(url))
    assert 'lang="en"' in english
    assert "Log out" in english and "Residence history" in english
    assert "Male" in english  # code labels follow the language too
    officer_client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    assert "退出" in page(officer_client.get(url))


def test_an_english_browser_still_gets_chinese_until_it_switches(client, officer):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "登录" in page(response)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Log in" in page(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN"))


def test_an_unknown_language_cookie_falls_back_to_chinese(client, officer):
    client.cookies["django_language"] = "xx"
    assert "登录" in page(client.get(reverse("login")))


def test_login_page_is_chinese_and_logs_in(client, officer):
    html = page(client.get(reverse("login")))
    assert "登录" in html
    response = client.post(
        reverse("login"), {"username": "officer", "password": "a-long-test-password"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("web:home")


def test_login_with_a_wrong_password_says_so(client, officer):
    response = client.post(reverse("login"), {"username": "officer", "password": "wrong"})
    assert response.status_code == 200
    assert "用户名和密码不匹配" in response.content.decode()


def test_logout_is_a_post(officer_client):
    assert officer_client.get(reverse("logout")).status_code == 405
    response = officer_client.post(reverse("logout"))
    assert response.status_code == 302
    assert officer_client.get(reverse("web:home")).status_code == 302


@pytest.mark.parametrize("path", ["/static/web/vendor/echarts.min.js", "/static/web/renfang.css"])
def test_static_files_are_ours(path):
    from django.contrib.staticfiles import finders

    assert finders.find(path.removeprefix("/static/")) is not None
