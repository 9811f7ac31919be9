"""Pages by area: a user sees the people, houses and figures of their own area; anything else
is "not found", exactly like a missing record, and the attempt is audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from renfang.accounts.models import Role
from renfang.audit.models import Action, AuditEvent
from renfang.testing.users import client_for, user_with_role

SEARCH = reverse("web:search")


def denied(user, record_type: str, record_id: object) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            user_id=user.pk, action=Action.DENIED, record_type=record_type, record_id=record_id
        )
    )


def names(response) -> list[str]:
    return [row.title for row in response.context["people_rows"]]


def test_a_clerk_sees_the_people_of_the_committee_only(clerk_client, district):
    # Zhang lives in the Tianping committee; Li lived there; Smith and Wang never did.
    assert names(clerk_client.get(SEARCH, {"q": "张"}, follow=True)) == ["张伟"]
    assert names(clerk_client.get(SEARCH, {"q": "李"}, follow=True)) == ["李娜"]
    assert names(clerk_client.get(SEARCH, {"q": "smith"}, follow=True)) == []
    assert names(clerk_client.get(SEARCH, {"q": district.wang.id_number}, follow=True)) == []
    houses = clerk_client.get(SEARCH, {"q": "310104"}, follow=True).context["house_rows"]
    assert [row["house"].house_code for row in houses] == [district.house_tianping.house_code]


def test_a_person_outside_the_area_is_not_found_and_the_attempt_audited(
    clerk, clerk_client, district
):
    outside = clerk_client.get(reverse("web:person_detail", args=[district.smith.pk]))
    missing = clerk_client.get(reverse("web:person_detail", args=[987654]))
    assert outside.status_code == missing.status_code == 404
    assert outside.content == missing.content  # nothing tells the two apart
    assert len(denied(clerk, "person", str(district.smith.pk))) == 1
    # A missing record does the same work (issue 11, finding 9): audited alike, and only the
    # auditor reads which was which.
    [missing_event] = denied(clerk, "person", "987654")
    assert missing_event.detail == {"reason": "not found"}


def test_a_house_outside_the_area_is_not_found_and_the_attempt_audited(
    clerk, clerk_client, district
):
    code = district.house_hunan.house_code
    assert clerk_client.get(reverse("web:house_detail", args=[code])).status_code == 404
    assert len(denied(clerk, "house", code)) == 1
    inside = clerk_client.get(
        reverse("web:house_detail", args=[district.house_tianping.house_code])
    )
    assert inside.status_code == 200


@pytest.mark.parametrize("url_name", ["web:area_detail", "web:area_subareas_export"])
@pytest.mark.parametrize("code", ["310104", "310104004", "310104004001", "31"])
def test_an_area_outside_the_users_is_not_found_and_audited(
    clerk, clerk_client, district, url_name, code
):
    assert clerk_client.get(reverse(url_name, args=[code])).status_code == 404
    event = denied(clerk, "area", code)
    assert len(event) == 1
    assert event[0].detail == {"reason": "outside the user's area"}


def test_the_own_area_and_the_areas_inside_it_show_their_figures(district):
    officer = user_with_role("tianping", Role.STREET_OFFICER, "310104003")
    client = client_for(officer)
    for code in ("310104003", "310104003001"):
        response = client.get(reverse("web:area_detail", args=[code]))
        assert response.status_code == 200, code
        assert AuditEvent.objects.filter(
            user_id=officer.pk, action=Action.READ, record_type="area", record_id=code
        ).exists()
    # The district above is not the officer's; the breadcrumb names it without a link.
    response = client.get(reverse("web:area_detail", args=["310104003"]))
    crumbs = {crumb.code: crumb.linked for crumb in response.context["breadcrumb"]}
    assert crumbs == {"31": False, "310104": False, "310104003": True}
    html = response.content.decode()
    assert reverse("web:area_detail", args=["310104"]) not in html
    assert reverse("web:area_detail", args=["310104003001"]) in html


def test_the_area_read_is_audited_with_its_dates(officer, officer_client, district):
    officer_client.get(
        reverse("web:area_detail", args=["310104"]),
        {"as_of": "2019-01-01", "compare_to": "2016-01-01"},
    )
    event = AuditEvent.objects.get(user_id=officer.pk, action=Action.READ, record_type="area")
    assert event.record_id == "310104"
    assert event.detail == {"as_of": "2019-01-01", "compare_to": "2016-01-01"}


def test_a_police_beat_sees_its_committees_not_their_street(district):
    police = user_with_role("beat", Role.POLICE, police_committees=("310104003001", "310104004001"))
    client = client_for(police)
    assert client.get(reverse("web:area_detail", args=["310104003001"])).status_code == 200
    assert client.get(reverse("web:area_detail", args=["310104004001"])).status_code == 200
    assert client.get(reverse("web:area_detail", args=["310104003"])).status_code == 404
    home = client.get(reverse("web:home"))
    assert [area.code for area in home.context["areas"]] == ["310104003001", "310104004001"]


def test_the_home_page_starts_at_the_users_own_areas(clerk_client, officer_client, district):
    clerk_home = clerk_client.get(reverse("web:home"))
    assert [area.code for area in clerk_home.context["areas"]] == ["310104003001"]
    html = clerk_home.content.decode()
    assert reverse("web:area_detail", args=["310104003001"]) in html
    assert reverse("web:area_detail", args=["310104"]) not in html
    assert [a.code for a in officer_client.get("/").context["areas"]] == ["310104"]


def test_person_page_links_only_to_areas_and_houses_the_user_may_open(street_officer, district):
    # Li lived in the Tianping house (another street) and lives in the Hunan house now.
    response = client_for(street_officer).get(reverse("web:person_detail", args=[district.li.pk]))
    houses = [row.house.house_code if row.house else None for row in response.context["residences"]]
    assert houses == [district.house_hunan.house_code, None]
    html = response.content.decode()
    assert reverse("web:house_detail", args=[district.house_tianping.house_code]) not in html
    # A house outside the officer's street is not theirs to see: only its division is named.
    assert "天平路12号301室" not in html and district.house_tianping.house_code not in html
    assert "天平路街道" in html


@pytest.mark.parametrize("who", ["auditor", "nobody"])
def test_users_who_read_no_people_find_nothing(who, request, district):
    user = request.getfixturevalue(who)
    client = client_for(user)
    for url in (
        reverse("web:person_detail", args=[district.zhang.pk]),
        reverse("web:house_detail", args=[district.house_tianping.house_code]),
        reverse("web:area_detail", args=["310104"]),
        reverse("web:area_subareas_export", args=["310104"]),
    ):
        assert client.get(url).status_code == 404, url
    assert denied(user, "person", str(district.zhang.pk))[0].detail == {"reason": "no role"}
    response = client.get(SEARCH, {"q": "张"}, follow=True)
    assert response.status_code == 200
    assert response.context["people_rows"] == [] and response.context["house_rows"] == []
    home = client.get(reverse("web:home")).content.decode()
    assert 'id="home-q"' not in home and 'id="header-q"' not in home  # no search box to offer


def test_home_for_a_user_without_a_role_says_so(nobody, district):
    html = client_for(nobody).get(reverse("web:home")).content.decode()
    assert 'id="no-role"' in html


def test_only_auditors_see_the_audit_link(auditor_client, officer_client, clerk_client):
    audit = reverse("audit:events")
    assert audit in auditor_client.get(reverse("web:home")).content.decode()
    for client in (officer_client, clerk_client):
        assert audit not in client.get(reverse("web:home")).content.decode()
    # The auditor administers no users; the district administrator reads no audit log.
    assert reverse("admin:index") not in auditor_client.get("/").content.decode()
