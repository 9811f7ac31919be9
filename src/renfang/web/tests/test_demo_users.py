"""``renfang demo_users``: one demo user per role in the demo district, created once, reset on
every run; the district administrator has a TOTP device whose code ``renfang totp code``
prints."""

from __future__ import annotations

import base64
import io
import re

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.access import access_for
from renfang.accounts.models import PoliceArea, Role, RoleGrant
from renfang.areas.models import Area, AreaLevel
from renfang.audit.models import Action, AuditEvent
from renfang.exchange.models import Subscription
from renfang.web.management.commands.demo_users import PASSWORD

ROLES = {
    "admin": Role.DISTRICT_ADMIN,
    "officer": Role.STREET_OFFICER,
    "clerk": Role.COMMITTEE_CLERK,
    "collector": Role.COLLECTOR,
    "police": Role.POLICE,
    "civil_affairs": Role.DEPARTMENT_READER,
    "auditor": Role.AUDITOR,
    "security": Role.SECURITY_OFFICER,
    "relief_office": Role.DEPARTMENT_READER,
    "family_planning": Role.DEPARTMENT_READER,
    "police_bureau": Role.DEPARTMENT_READER,
}


@pytest.fixture
def xuhui(db: None) -> None:
    """Xuhui as `renfang demo` leaves it: a street without committees comes first, then one
    with three committees, the first with a grid."""
    city = Area.objects.create(code="31", name="上海市", level=AreaLevel.CITY)
    district = Area.objects.create(
        code="310104", name="徐汇区", parent=city, level=AreaLevel.DISTRICT
    )
    Area.objects.create(code="310104002", name="空街道", parent=district, level=AreaLevel.STREET)
    street = Area.objects.create(
        code="310104003", name="天平路街道", parent=district, level=AreaLevel.STREET
    )
    for number in (1, 2, 3):
        Area.objects.create(
            code=f"310104003{number:03d}",
            name=f"第{number}居委会",
            parent=street,
            level=AreaLevel.COMMITTEE,
        )
    Area.objects.create(
        code="310104003001001",
        name="第一网格",
        parent=Area.objects.get(code="310104003001"),
        level=AreaLevel.GRID,
    )


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_creates_one_user_per_role_and_says_how_to_log_in(xuhui):
    output = run("demo_users")

    assert "Open http://127.0.0.1:8000/ and log in as clerk / renfang-demo" in output
    for username, role in ROLES.items():
        user = User.objects.get(username=username)
        assert list(user.role_grants.values_list("role", flat=True)) == [role]
        assert authenticate(username=username, password=PASSWORD) == user
        assert re.search(rf"^{username}\s", output, re.MULTILINE), username
    where = {g.user.username: g.police_area_id or g.area_id for g in RoleGrant.objects.all()}
    assert where == {
        "admin": "310104",
        "officer": "310104003",
        "clerk": "310104003001",
        "collector": "310104003001001",
        "police": "DEMO-1",
        "civil_affairs": "310104",
        "auditor": "310104",
        "security": "310104",
        "relief_office": "310104003",
        "family_planning": "310104",
        "police_bureau": "310104",
    }
    police_area = PoliceArea.objects.get(code="DEMO-1")
    assert sorted(police_area.committees.values_list("code", flat=True)) == [
        "310104003001",
        "310104003002",
    ]
    civil = access_for(User.objects.get(username="civil_affairs"))
    assert civil.sees_tag("subsistence_allowance", sensitive=True)
    assert not civil.sees_field("id_number")
    relief = access_for(User.objects.get(username="relief_office"))
    assert relief.sees_field("marital_status")
    # It publishes civil affairs' records, matched by ID number (ADR 0022), but sees no tags.
    assert relief.sees_field("id_number") and not relief.sees_field("tags")
    assert access_for(User.objects.get(username="police_bureau")).sees_field("id_number")
    assert "/feeds/" in output
    # The security officer (ADR 0020) logs in with a TOTP code, like the administrator.
    assert "renfang totp code security" in output


def test_the_offices_subscribe_once_and_get_their_subscriptions_back(xuhui):
    run("demo_users")
    subscriptions = {
        (s.subscriber.username, s.name): s
        for s in Subscription.objects.select_related("subscriber")
    }
    assert sorted({user for user, _name in subscriptions}) == [
        "family_planning",
        "police_bureau",
        "relief_office",
    ]
    police = next(s for (user, _n), s in subscriptions.items() if user == "police_bureau")
    assert police.event_types == ["person.arrived"]
    assert police.categories == ["domestic_migrant", "overseas"]
    women = Subscription.objects.get(subscriber__username="family_planning", sex="2")
    assert (women.age_min, women.age_max) == (15, 49)
    women.age_max = 60
    women.save()

    run("demo_users")

    assert Subscription.objects.count() == len(subscriptions)
    women.refresh_from_db()
    assert women.age_max == 49


def test_the_admin_has_a_second_factor_whose_key_is_printed(xuhui):
    output = run("demo_users")

    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.is_active
    device = TOTPDevice.objects.get(user=admin, confirmed=True)
    key = re.search(r"TOTP key, to add to an authenticator app: ([A-Z2-7 ]+)", output)
    assert key is not None
    assert base64.b32decode(key.group(1).replace(" ", "")) == device.bin_key
    assert "renfang totp code admin" in output


def test_the_demo_admin_logs_in_with_the_printed_code(xuhui):
    run("demo_users")
    code = run("totp", "code", "admin").strip()
    client = Client()

    client.post("/login/", {"username": "admin", "password": PASSWORD})
    assert client.get("/")["Location"].startswith("/account/second-factor/")
    client.post("/account/second-factor/", {"code": code})

    assert client.get("/").status_code == 200


def test_running_again_resets_the_users_and_keeps_the_admins_key(xuhui):
    run("demo_users")
    admin = User.objects.get(username="admin")
    key = TOTPDevice.objects.get(user=admin).key
    clerk = User.objects.get(username="clerk")
    clerk.set_password("changed-by-someone")
    clerk.is_active = False
    clerk.save()
    RoleGrant.objects.filter(user=clerk).update(area_id="310104003002")

    run("demo_users")

    assert User.objects.filter(username="clerk").count() == 1
    assert authenticate(username="clerk", password=PASSWORD) is not None
    assert list(RoleGrant.objects.filter(user=clerk).values_list("area_id", flat=True)) == [
        "310104003001"
    ]
    assert TOTPDevice.objects.get(user=admin).key == key
    assert RoleGrant.objects.count() == len(ROLES)


def test_without_the_demo_district_it_says_what_to_run(db):
    with pytest.raises(CommandError, match="renfang demo"):
        run("demo_users")


def test_totp_code_needs_a_user_with_a_device(xuhui):
    run("demo_users")

    with pytest.raises(CommandError, match="尚未设置第二因素"):
        run("totp", "code", "clerk")
    with pytest.raises(CommandError, match="没有名为 nobody 的用户"):
        run("totp", "code", "nobody")


def test_totp_reset_removes_the_device_and_is_audited(xuhui):
    run("demo_users")

    output = run("totp", "reset", "admin")

    assert "已移除" in output
    assert not TOTPDevice.objects.filter(user__username="admin").exists()
    event = AuditEvent.objects.filter(action=Action.ADMIN, detail__field="second_factor").get()
    assert event.channel == "command" and event.username.startswith("system")
