"""Users of the test world: each given a role through the role services (audited, as an
administrator's grant is), and clients logged in as them."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.models import PoliceArea
from renfang.accounts.services import role_grant
from renfang.accounts.totp import second_factor_required
from renfang.areas.models import Area

PASSWORD = "a-long-test-password"


def user_with_role(  # noqa: PLR0913 (a grant is described by this many values)
    username: str,
    role: str | None = None,
    area: Area | str | None = None,
    *,
    police_area: PoliceArea | None = None,
    police_committees: tuple[str, ...] = (),
    fields: Sequence[str] = (),
) -> User:
    """A user with one role (none if ``role`` is None): bound to ``area`` (an area or its
    code), or (police) to ``police_area`` or a new police area of ``police_committees``."""
    user = User.objects.create_user(username, password=PASSWORD)
    if role is None:
        return user
    if police_committees:
        police_area = PoliceArea.objects.create(code=f"PA-{username}", name=f"{username} 警务区")
        police_area.committees.set(Area.objects.filter(code__in=police_committees))
    if isinstance(area, str):
        area = Area.objects.get(code=area)
    role_grant(
        user=user, role=role, area=area, police_area=police_area, fields=fields, granted_by=None
    )
    user.refresh_from_db()
    return user


def client_for(user: User) -> Client:
    """A client logged in as the user; one whose role needs a second factor has given it."""
    client = Client()
    client.force_login(user)
    if second_factor_required(user):
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client
