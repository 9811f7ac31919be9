"""The second factor: a TOTP code from an authenticator app (django-otp).

``RENFANG_TOTP`` says who must use it: ``admins`` (the roles whose policy sets
``needs_second_factor``; anyone else may choose to), ``all``, or ``off``. A user who has a
confirmed device is always asked for a code, whether it is required or chosen.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from renfang.accounts.access import access_for

User = AbstractBaseUser | AnonymousUser

MODES = ("admins", "all", "off")
DEVICE_NAME = "renfang"


def totp_mode() -> str:
    return str(settings.RENFANG_TOTP)


def second_factor_required(user: User) -> bool:
    """Whether the user must use a second factor (by the mode and their roles)."""
    mode = totp_mode()
    if mode == "off" or not user.is_authenticated:
        return False
    if mode == "all":
        return True
    # A superuser can do everything an administrator can: the same second factor.
    return access_for(user).needs_second_factor or bool(getattr(user, "is_superuser", False))


def confirmed_device(user: User) -> Any:
    """The user's confirmed TOTP device, or None."""
    if not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def second_factor_needed(user: User) -> bool:
    """Whether the user must give a code to log in: required, or chosen (has a device)."""
    if totp_mode() == "off" or not user.is_authenticated:
        return False
    return (
        second_factor_required(user)
        or TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()
    )


def is_verified(user: object) -> bool:
    """Whether this session gave a code (``otp_device`` is set by django-otp's middleware)."""
    return getattr(user, "otp_device", None) is not None


def second_factor_pending(request: HttpRequest) -> bool:
    """The session's user logged in with a password but still owes a code."""
    user = request.user
    return bool(user.is_authenticated) and not is_verified(user) and second_factor_needed(user)


def setup_device(user: AbstractBaseUser) -> Any:
    """The unconfirmed device the user is setting up; the same one until confirmed, so the
    QR code does not change when the setup page is reloaded."""
    device = (
        TOTPDevice.objects.filter(user_id=user.pk, confirmed=False, name=DEVICE_NAME)
        .order_by("-pk")
        .first()
    )
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def key_text(device: Any) -> str:
    """The key as an authenticator app takes it typed in: base32, in groups of four."""
    key = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def qr_svg(device: Any) -> str:
    """The device's otpauth:// address as an inline SVG QR code (drawn here: the key never
    leaves the server)."""
    image = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4
    )
    return str(image.to_string(encoding="unicode"))


def current_code(device: Any) -> str:
    """The code the device shows now (for demos and operators with shell access)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return str(totp.token()).zfill(int(device.digits))
