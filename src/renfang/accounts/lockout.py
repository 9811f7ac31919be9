"""Lock-out after repeated failed logins, by username across addresses (django-axes): the
right password from a second address does not open a locked account (issue 11, finding 10).
The lock lasts ``RENFANG_LOCKOUT_MINUTES``; an administrator (or the security officer, for the
accounts it looks after) unlocks in the user admin, an operator with ``renfang unlock``.

Password failures reach django-axes through Django's ``user_login_failed`` signal; a wrong
second-factor code is counted here, on the same record, so that guessing codes locks the
account as guessing passwords does. Attempts are cleared only once a login is complete (both
factors): clearing them after the password alone would let whoever knows a password try
codes without end.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.http import HttpRequest


def lockout_enabled() -> bool:
    return bool(settings.AXES_ENABLED)


def is_locked_out(request: HttpRequest, username: str) -> bool:
    if not lockout_enabled():
        return False
    return bool(AxesProxyHandler.is_locked(request, {"username": username}))


def failure_record(request: HttpRequest, username: str) -> bool:
    """Count one failed attempt for the username from this address; True when it locks."""
    if not lockout_enabled():
        return False
    AxesProxyHandler.user_login_failed(
        sender=failure_record, credentials={"username": username}, request=request
    )
    return bool(getattr(request, "axes_locked_out", False))


def failures_clear(request: HttpRequest, username: str) -> int:
    """Forget the failed attempts of this username (a complete login, both factors): the
    count is by username, so from every address."""
    if not username:
        return 0  # axes would read "no username" as "everyone"
    AxesProxyHandler.update_request(request)
    return int(AxesProxyHandler.reset_attempts(username=username))


def failures_clear_for_user(username: str) -> int:
    """Forget every failed attempt of a username, from any address (an administrator's
    unlock)."""
    if not username:
        return 0
    return int(AxesProxyHandler.reset_attempts(username=username))
