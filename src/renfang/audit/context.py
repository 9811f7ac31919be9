"""Where an audited action comes from: the request's address and channel, kept in a context
variable by ``AuditContextMiddleware`` so services deep down need not be handed the request."""

from __future__ import annotations

import contextvars
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from renfang.accounts.client_ip import client_ip
from renfang.audit.models import Channel


@dataclass(frozen=True)
class AuditContext:
    ip: str = ""
    channel: str = Channel.COMMAND


_DEFAULT = AuditContext()
_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "renfang_audit_context", default=None
)


def current_context() -> AuditContext:
    return _current.get() or _DEFAULT


@contextmanager
def audit_context(ip: str = "", channel: str = Channel.COMMAND) -> Iterator[None]:
    token = _current.set(AuditContext(ip=ip, channel=channel))
    try:
        yield
    finally:
        _current.reset(token)


def os_user() -> str:
    """Who ran a command, as the operating system knows them."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return ""


def request_ip(request: HttpRequest) -> str:
    """The client's address, behind a trusted proxy too (renfang.accounts.client_ip)."""
    return client_ip(request)


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = Channel.API if request.path.startswith("/api/") else Channel.PAGE
        with audit_context(ip=request_ip(request), channel=channel):
            return self.get_response(request)
