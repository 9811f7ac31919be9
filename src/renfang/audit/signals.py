"""Logins, logouts and failed logins are audit events."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from renfang.audit.context import audit_context, current_context, request_ip
from renfang.audit.models import Action, Channel
from renfang.audit.services import audit_record


def _channel(request: HttpRequest | None) -> str:
    if request is None:
        return current_context().channel
    return Channel.API if request.path.startswith("/api/") else Channel.PAGE


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    from renfang.accounts.totp import second_factor_needed  # noqa: PLC0415 (apps are ready)

    ip = request_ip(request) if request is not None else current_context().ip
    # The password alone, when a code must follow: the login is complete only with the code,
    # which is recorded as a second login event with {"factor": "totp"}.
    detail = {"factor": "password", "pending": "totp"} if second_factor_needed(user) else {}
    with audit_context(ip=ip, channel=_channel(request)):
        audit_record(Action.LOGIN, user=user, record_type="user", record_id=user.pk, detail=detail)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    ip = request_ip(request) if request is not None else current_context().ip
    with audit_context(ip=ip, channel=_channel(request)):
        audit_record(Action.LOGOUT, user=user, record_type="user", record_id=user.pk)


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    typed = str(credentials.get("username", ""))[:150]
    ip = request_ip(request) if request is not None else current_context().ip
    with audit_context(ip=ip, channel=_channel(request)):
        audit_record(
            Action.LOGIN_FAILED,
            user=None,
            username=typed,
            record_type="user",
            record_id=typed,
        )
