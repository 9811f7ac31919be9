"""``renfang demo_users``: one demo user per role in the demo district (Xuhui), created or
reset, and how to log in as each; and the department offices of the change feed's worked
example (synth/feeds.py) with their subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.models import PersonField, PoliceArea, Role, RoleGrant
from renfang.accounts.services import (
    role_grant,
    role_revoke,
    user_changes_record,
    user_password_changed_record,
    user_snapshot,
)
from renfang.accounts.totp import DEVICE_NAME, confirmed_device, key_text
from renfang.areas.models import Area, AreaLevel
from renfang.synth.feeds import OFFICES, subscriptions_ensure

DISTRICT = "310104"  # 徐汇区, the district `renfang demo` loads
PASSWORD = "renfang-demo"  # a demo password, printed on purpose; never for a real deployment
USERNAME = "admin"  # the district administrator, who also needs a TOTP code
SECURITY = "security"  # the security officer (ADR 0020), who also needs a TOTP code
WITH_TOTP = (USERNAME, SECURITY)
POLICE_AREA = "DEMO-1"
# What a civil affairs bureau (民政) is given: who and where, and the relief tags it manages.
CIVIL_AFFAIRS_FIELDS = [
    PersonField.NAME,
    PersonField.SEX,
    PersonField.BIRTH_DATE,
    PersonField.HUKOU,
    PersonField.RESIDENCES,
    PersonField.TAGS,
    "tag:subsistence_allowance",
    "tag:low_income",
    "tag:extreme_hardship",
    "tag:disabled",
]


@dataclass
class DemoUser:
    username: str
    role: str
    area: Area | None = None
    police_area: PoliceArea | None = None
    fields: list[str] = field(default_factory=list)
    superuser: bool = False

    @property
    def where(self) -> str:
        place = self.police_area or self.area
        return str(place) if place is not None else ""


def _demo_places() -> tuple[Area, Area, Area, Area, Area]:
    """The district, a street of it with two committees or more, two of those committees,
    and the first committee's first grid (or the committee when it has no grids)."""
    district = Area.objects.filter(code=DISTRICT).first()
    streets = Area.objects.filter(parent_id=DISTRICT, level=AreaLevel.STREET).order_by("code")
    for street in streets:
        committees = list(
            Area.objects.filter(parent=street, level=AreaLevel.COMMITTEE).order_by("code")[:2]
        )
        if district is not None and len(committees) == 2:
            first, second = committees
            grid = Area.objects.filter(parent=first, level=AreaLevel.GRID).order_by("code").first()
            return district, street, first, second, grid or first
    raise CommandError(
        f"The demo district ({DISTRICT}) and its committees are not loaded: "
        "run `renfang demo` first."
    )


def _police_area(first: Area, second: Area) -> PoliceArea:
    police_area, _created = PoliceArea.objects.update_or_create(
        code=POLICE_AREA, defaults={"name": f"{first.name}、{second.name}警务区"}
    )
    police_area.committees.set([first, second])
    return police_area


def _demo_users() -> list[DemoUser]:
    district, street, committee, other_committee, grid = _demo_places()
    return [
        DemoUser(USERNAME, Role.DISTRICT_ADMIN, area=district, superuser=True),
        DemoUser("officer", Role.STREET_OFFICER, area=street),
        DemoUser("clerk", Role.COMMITTEE_CLERK, area=committee),
        DemoUser("collector", Role.COLLECTOR, area=grid),
        DemoUser("police", Role.POLICE, police_area=_police_area(committee, other_committee)),
        DemoUser(
            "civil_affairs",
            Role.DEPARTMENT_READER,
            area=district,
            fields=[str(f) for f in CIVIL_AFFAIRS_FIELDS],
        ),
        DemoUser("auditor", Role.AUDITOR, area=district),
        DemoUser(SECURITY, Role.SECURITY_OFFICER, area=district),
        *_offices(district, street),
    ]


def _offices(district: Area, street: Area) -> list[DemoUser]:
    """The department offices of the change feed's worked example (synth/feeds.py)."""
    return [
        DemoUser(
            office.username,
            Role.DEPARTMENT_READER,
            area=street if office.area == "street" else district,
            fields=[str(f) for f in office.fields],
        )
        for office in OFFICES
    ]


def offices_reset() -> dict[str, AbstractBaseUser]:
    """Only the department offices and their subscriptions, as ``renfang demo`` needs them
    for its changes (the other demo users wait for ``renfang demo_users``)."""
    district, street, *_rest = _demo_places()
    with transaction.atomic():
        users = {demo.username: _reset(demo) for demo in _offices(district, street)}
        subscriptions_ensure(users)
    return users


def _reset(demo: DemoUser) -> AbstractBaseUser:
    """Create the user or put it back as the demo has it: the password, active, the one role."""
    user_model = get_user_model()
    lookup: dict[str, Any] = {user_model.USERNAME_FIELD: demo.username}
    user = user_model._default_manager.filter(**lookup).first()
    created = user is None
    before = None if user is None else user_snapshot(user)
    if user is None:
        user = user_model(**lookup)
    user.is_active = True
    user.is_superuser = demo.superuser
    user.set_password(PASSWORD)
    user.save()
    user_changes_record(user=user, before=before, changed_by=None)
    if not created:
        user_password_changed_record(user=user, changed_by=None)
    wanted = (demo.role, demo.area, demo.police_area, demo.fields)
    kept = False
    for grant in RoleGrant.objects.filter(user_id=user.pk).select_related("area", "police_area"):
        if not kept and (grant.role, grant.area, grant.police_area, grant.fields) == wanted:
            kept = True
        else:
            role_revoke(grant=grant, revoked_by=None)
    if not kept:
        role_grant(
            user=user,
            role=demo.role,
            area=demo.area,
            police_area=demo.police_area,
            fields=demo.fields,
            granted_by=None,
        )
    return user


def _ensure_device(user: AbstractBaseUser) -> Any:
    """The admin's authenticator device: kept across runs, so an app it was added to keeps
    working."""
    device = confirmed_device(user)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
    return device


class Command(BaseCommand):
    help = (
        "Create (or reset) one demo user per role in the demo district, all with the demo "
        f"password {PASSWORD!r}, and say how to log in. The district administrator "
        f"{USERNAME!r} and the security officer {SECURITY!r} also need a TOTP code: their keys "
        "are printed, and `renfang totp code USERNAME` prints the current code."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="where the app is served"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows: list[tuple[str, str, str, str]] = []
        with transaction.atomic():
            demos = _demo_users()
            devices: dict[str, Any] = {}
            users: dict[str, AbstractBaseUser] = {}
            for demo in demos:
                user = users[demo.username] = _reset(demo)
                how = "password"
                if demo.username in WITH_TOTP:
                    devices[demo.username] = _ensure_device(user)
                    how = f"password + TOTP code (renfang totp code {demo.username})"
                rows.append((demo.username, str(Role(demo.role).label), demo.where, how))
            subscriptions = subscriptions_ensure(users)
        self._table(rows)
        self.stdout.write("")
        self.stdout.write(f"Every demo user's password: {PASSWORD}")
        for username, device in devices.items():
            self.stdout.write(
                f"{username}'s TOTP key, to add to an authenticator app: {key_text(device)}"
            )
            self.stdout.write(f"  or as a link: {device.config_url}")
            self.stdout.write(f"  or print the current code: renfang totp code {username}")
        self.stdout.write(
            f"Open {options['url']} and log in as clerk / {PASSWORD} (a committee clerk), "
            "or as any user above."
        )
        offices = ", ".join(office.username for office in OFFICES)
        self.stdout.write(
            f"The department offices {offices} have {len(subscriptions)} subscriptions to the "
            f"change feed: log in as one of them and open {options['url']}feeds/ to read them."
        )

    def _table(self, rows: list[tuple[str, str, str, str]]) -> None:
        header = ("username", "role", "area", "log in with")
        widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)]
            self.stdout.write("  ".join(cells).rstrip())


def _width(text: str) -> int:
    """Columns a terminal gives the text: Chinese characters take two."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)
