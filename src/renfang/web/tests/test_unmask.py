"""Showing a masked number in full (unmask): an explicit action with a purpose, audited, for the
roles that may; shown once, never remembered."""

from __future__ import annotations

from django.urls import reverse

from renfang.accounts.access import mask_id_number, mask_phone
from renfang.audit.models import Action, AuditEvent
from renfang.testing.users import client_for

PHONE = "13800138000"


def reveal_url(person) -> str:
    return reverse("web:person_reveal", args=[person.pk])


def events(user, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(user_id=user.pk, action=action).order_by("id"))


def test_a_clerk_is_offered_the_action_next_to_each_masked_number(clerk_client, district):
    html = clerk_client.get(reverse("web:person_detail", args=[district.zhang.pk])).content.decode()
    assert html.count(f'action="{reveal_url(district.zhang)}"') == 2  # the ID and the phone
    assert 'name="field" value="id_number"' in html and 'name="field" value="phone"' in html
    assert 'name="purpose" required' in html


def test_unmasking_the_id_number_shows_it_once_and_audits_the_purpose(
    clerk, clerk_client, district
):
    response = clerk_client.post(
        reveal_url(district.zhang), {"field": "id_number", "purpose": "核对低保申请"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert district.zhang.id_number in html
    assert mask_phone(PHONE) in html and PHONE not in html  # only what was asked for
    assert "核对低保申请" in html  # the page says why it shows the number
    [unmask] = events(clerk, Action.UNMASK)
    assert (unmask.record_type, unmask.record_id) == ("person", str(district.zhang.pk))
    assert unmask.detail == {"field": "id_number"}
    assert unmask.purpose == "核对低保申请"
    # Nothing is remembered: the next visit shows the number masked again.
    again = clerk_client.get(reverse("web:person_detail", args=[district.zhang.pk]))
    assert district.zhang.id_number not in again.content.decode()
    assert mask_id_number(district.zhang.id_number) in again.content.decode()


def test_unmasking_the_phone(clerk, clerk_client, district):
    response = clerk_client.post(
        reveal_url(district.zhang), {"field": "phone", "purpose": "联系本人上门核实"}
    )
    html = response.content.decode()
    assert PHONE in html
    assert district.zhang.id_number not in html
    assert [e.detail for e in events(clerk, Action.UNMASK)] == [{"field": "phone"}]


def test_a_missing_purpose_is_asked_for_and_nothing_is_shown(clerk, clerk_client, district):
    for purpose in ("", "   ", "x", "核实", "????", "看 看 "):
        response = clerk_client.post(
            reveal_url(district.zhang), {"field": "id_number", "purpose": purpose}
        )
        assert response.status_code == 400
        html = response.content.decode()
        assert district.zhang.id_number not in html
        assert response.context["reveal_form"].errors["purpose"]
        assert 'class="error" role="alert"' in html
        assert '<details class="reveal" open>' in html  # the form stays open to fix it
    assert not events(clerk, Action.UNMASK)


def test_an_unknown_field_is_refused(clerk, clerk_client, district):
    response = clerk_client.post(reveal_url(district.zhang), {"field": "name", "purpose": "看看"})
    assert response.status_code == 400
    assert not events(clerk, Action.UNMASK)


def test_a_role_without_the_right_gets_no_action_and_a_refusal(reader, district):
    client = client_for(reader)
    # The reader is granted names, sex and tags: every other field is out of reach.
    page = client.get(reverse("web:person_detail", args=[district.zhang.pk])).content.decode()
    assert reveal_url(district.zhang) not in page
    response = client.post(reveal_url(district.zhang), {"field": "phone", "purpose": "核实"})
    assert response.status_code == 200
    assert response.context["reveal_refused"]
    assert PHONE not in response.content.decode()
    assert not events(reader, Action.UNMASK)
    [refusal] = events(reader, Action.DENIED)
    assert refusal.detail == {"reason": "role may not unmask", "field": "phone"}
    assert refusal.purpose == "核实"


def test_no_purpose_from_a_role_without_the_right_is_still_a_refusal(reader, district):
    response = client_for(reader).post(reveal_url(district.zhang), {"field": "id_number"})
    assert response.status_code == 200 and response.context["reveal_refused"]
    assert events(reader, Action.DENIED)


def test_unmasking_someone_outside_the_area_is_not_found_and_audited(clerk, clerk_client, district):
    for purpose in ("核实身份", ""):
        response = clerk_client.post(
            reveal_url(district.smith), {"field": "id_number", "purpose": purpose}
        )
        assert response.status_code == 404
        assert "E12345678" not in response.content.decode()
    assert not events(clerk, Action.UNMASK)
    assert [(e.record_type, e.record_id) for e in events(clerk, Action.DENIED)] == [
        ("person", str(district.smith.pk))
    ] * 2
    missing = clerk_client.post(
        reverse("web:person_reveal", args=[987654]), {"field": "id_number", "purpose": "核实"}
    )
    assert missing.status_code == 404


def test_reveal_is_a_post_and_needs_a_login(client, clerk_client, district):
    assert clerk_client.get(reveal_url(district.zhang)).status_code == 405
    response = client.post(reveal_url(district.zhang), {"field": "id_number", "purpose": "x y"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_reveal_needs_the_csrf_token(clerk, district):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(clerk)
    response = client.post(reveal_url(district.zhang), {"field": "id_number", "purpose": "核实"})
    assert response.status_code == 403
    assert not events(clerk, Action.UNMASK)
