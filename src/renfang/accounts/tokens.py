"""API tokens for department systems: create, revoke, authenticate.

A key is shown once, when it is made; only its SHA-256 is kept, with a short prefix of the
key so that people can tell their tokens apart (and revoke one) without the key itself.
Creating and revoking a token is user administration and is audited.
"""

from __future__ import annotations

import datetime
import getpass
import hashlib
import secrets
import string
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.models import ApiToken
from renfang.audit.models import Action
from renfang.audit.services import audit_record

Actor = AbstractBaseUser | AnonymousUser

# "rf_" marks a renfang key (secret scanners can look for it); 8 random characters after it
# make the prefix that names the token in lists and on the command line.
KEY_MARK = "rf_"
PREFIX_LENGTH = len(KEY_MARK) + 8
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class TokenError(Exception):
    """A token operation cannot be done; the message says why, for the person at the console."""


class TokenRefused(Exception):
    """A presented key does not authenticate; ``reason`` is unknown, revoked, expired or
    inactive_user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    key: str  # shown once, never stored


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _operator() -> str:
    """Who runs the command, as the operating system knows them (for the audit event)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or passwd database
        return ""


# Letters and digits only: a double click selects the whole key.
_KEY_ALPHABET = string.ascii_letters + string.digits
_KEY_LENGTH = 40  # about 238 bits


def _new_key() -> str:
    return KEY_MARK + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(_KEY_LENGTH))


def api_token_create(
    *,
    user: User,
    name: str,
    expires_at: datetime.datetime | None = None,
    created_by: Actor | None = None,
) -> CreatedToken:
    """A new token for ``user``. The returned key is the only copy there will ever be."""
    name = name.strip()
    if not name:
        raise TokenError(_("a token needs a name (which system or person uses it)"))
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError(_("the expiry must lie in the future"))
    with transaction.atomic():
        key = _new_key()
        # A prefix names one token: draw again in the (very unlikely) case it is taken.
        while ApiToken.objects.filter(prefix=key[:PREFIX_LENGTH]).exists():
            key = _new_key()
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=key[:PREFIX_LENGTH],
            key_hash=key_hash(key),
            expires_at=expires_at,
        )
        audit_record(
            Action.ADMIN,
            user=created_by,
            username="" if created_by else _operator(),
            record_type="api_token",
            record_id=token.prefix,
            detail={
                "change": "token created",
                "for_user": user.get_username(),
                "name": name,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return CreatedToken(token=token, key=key)


def api_token_revoke(*, prefix: str, revoked_by: Actor | None = None) -> ApiToken:
    """Revoke the token whose key starts with ``prefix``.

    Raises ``TokenError`` when no token or more than one has that prefix, or when the token
    was revoked already.
    """
    # A key pasted whole starts with its prefix: accept it, but never keep or echo it.
    prefix = prefix.strip()[:PREFIX_LENGTH]
    if len(prefix) < PREFIX_LENGTH:
        raise TokenError(
            _("give the token's whole prefix (%(length)d characters, as `tokens list` shows)")
            % {"length": PREFIX_LENGTH}
        )
    with transaction.atomic():
        matches = list(
            ApiToken.objects.select_for_update().select_related("user").filter(prefix=prefix)
        )
        if not matches:
            raise TokenError(_("no token has the prefix %(prefix)r") % {"prefix": prefix})
        if len(matches) > 1:
            raise TokenError(
                _("more than one token has the prefix %(prefix)r") % {"prefix": prefix}
            )
        token = matches[0]
        if token.revoked_at is not None:
            raise TokenError(
                _("token %(prefix)r was revoked already, on %(day)s")
                % {
                    "prefix": token.prefix,
                    "day": f"{timezone.localtime(token.revoked_at):%Y-%m-%d %H:%M}",
                }
            )
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            Action.ADMIN,
            user=revoked_by,
            username="" if revoked_by else _operator(),
            record_type="api_token",
            record_id=token.prefix,
            detail={
                "change": "token revoked",
                "for_user": token.user.get_username(),
                "name": token.name,
            },
        )
    return token


def api_token_authenticate(key: str) -> ApiToken:
    """The live token whose key this is (its user loaded); raises ``TokenRefused``.

    Marks the token used, at most once a minute.
    """
    token = (
        ApiToken.objects.select_related("user").filter(key_hash=key_hash(key.strip())).first()
        if key.strip().startswith(KEY_MARK)
        else None
    )
    if token is None:
        raise TokenRefused("unknown")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenRefused("revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused("expired")
    if not token.user.is_active:
        raise TokenRefused("inactive_user")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # An UPDATE of the one column: concurrent requests do not overwrite anything else.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_list(*, username: str | None = None) -> list[ApiToken]:
    """Every token (a user's only, given a username), newest first."""
    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
    if username is not None:
        tokens = tokens.filter(user__username=username)
    return list(tokens)


def token_state(token: ApiToken, *, now: datetime.datetime | None = None) -> str:
    """active, revoked or expired."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"
