"""Session rules every page and the session-authenticated API inherit: the idle time-out and
the second factor. API calls with a bearer token carry no session and pass through both."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from renfang.accounts.totp import second_factor_pending

SEEN_AT = "renfang_seen_at"
# The last-seen time is written at most this often, so a busy user does not rewrite the
# session on every request; the time-out is therefore exact to within this many seconds.
REFRESH_SECONDS = 60
API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def seen_now(request: HttpRequest) -> None:
    request.session[SEEN_AT] = int(time.time())


class IdleTimeoutMiddleware:
    """Log out a session that made no request for ``RENFANG_IDLE_MINUTES``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        minutes = int(settings.RENFANG_IDLE_MINUTES)
        if minutes > 0 and request.user.is_authenticated:
            now = int(time.time())
            seen = request.session.get(SEEN_AT)
            if isinstance(seen, int) and now - seen > minutes * 60:
                logout(request)  # audited as a logout by renfang.audit.signals
                if not _is_api(request):
                    messages.info(
                        request,
                        _("You were logged out after %(minutes)d minutes without activity.")
                        % {"minutes": minutes},
                    )
            elif not isinstance(seen, int) or now - seen >= REFRESH_SECONDS:
                request.session[SEEN_AT] = now
        return self.get_response(request)


# Pages a user who still owes a code may open: logging in and out, giving or setting up the
# code, the language switch.
_OPEN_VIEWS = frozenset(
    {
        "login",
        "logout",
        "set_language",
        "accounts:second_factor",
        "accounts:second_factor_setup",
    }
)


def _is_open(request: HttpRequest) -> bool:
    if request.path_info.startswith("/" + str(settings.STATIC_URL).lstrip("/")):
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.view_name in _OPEN_VIEWS


class SecondFactorMiddleware:
    """A user who must give a TOTP code gets nothing before giving it: pages send them to
    the code page (or to set one up); to the API their session does not count (401)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and second_factor_pending(request):
            if _is_api(request):
                request.user = AnonymousUser()
            elif not _is_open(request):
                return redirect_to_login(
                    request.get_full_path(), reverse("accounts:second_factor"), "next"
                )
        return self.get_response(request)
