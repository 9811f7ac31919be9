"""What happens around a login: the idle clock starts, failed attempts are forgotten once the
login is complete, and a lock-out is audited."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from renfang.accounts.lockout import failures_clear
from renfang.accounts.middleware import seen_now
from renfang.accounts.totp import is_verified, second_factor_needed
from renfang.audit.context import audit_context, request_ip
from renfang.audit.models import Action, Channel
from renfang.audit.services import audit_record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    seen_now(request)
    if is_verified(user) or not second_factor_needed(user):
        # The login is complete; with a second factor still owed it is not, and the
        # failures are kept until the code is given (see renfang.accounts.lockout).
        failures_clear(request, user.get_username())


@receiver(user_locked_out)
def _locked_out(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    typed = str(username or "")[:150]
    channel = Channel.API if request.path.startswith("/api/") else Channel.PAGE
    with audit_context(ip=request_ip(request), channel=channel):
        audit_record(
            Action.DENIED,
            user=None,
            username=typed,
            record_type="user",
            record_id=typed,
            detail={
                "reason": "locked out",
                "failures": getattr(request, "axes_failures_since_start", None),
                "minutes": settings.RENFANG_LOCKOUT_MINUTES,
            },
        )
