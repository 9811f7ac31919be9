"""Who is calling: a department system with a bearer token, or a person logged in to the site.

Bearer tokens come first. A request that presents a token is judged by it alone: a wrong,
revoked or expired token is refused (and audited as a failed login) even when the browser
also has a session. A session authenticates only with Django's CSRF check on unsafe methods,
as a form post would.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from renfang.accounts.tokens import KEY_MARK, PREFIX_LENGTH, TokenRefused, api_token_authenticate
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.core.api.errors import ApiError, ErrorCode, not_authenticated

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _refusal_message(reason: str) -> str:
    if reason == "expired":
        return _("The token has expired: ask for a new one.")
    if reason == "revoked":
        return _("The token has been revoked.")
    return _("The token is not valid.")


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer <key>`` with a key from ``renfang tokens create``."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get(self.header, "")
        scheme, _space, key = header.strip().partition(" ")
        if scheme.lower() != self.openapi_scheme:
            return None  # no token (perhaps a session): let the next method try
        return self.authenticate(request, key.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        try:
            api_token = api_token_authenticate(token)
        except TokenRefused as exc:
            prefix = token[:PREFIX_LENGTH] if token.startswith(KEY_MARK) else ""
            audit_record(
                Action.LOGIN_FAILED,
                user=None,
                record_type="api_token",
                record_id=prefix,
                detail={"via": "api token", "reason": exc.reason},
            )
            raise not_authenticated(_refusal_message(exc.reason)) from exc
        request.user = api_token.user
        return api_token.user


class SessionAuth(APIKeyCookie):
    """The Django session of a logged-in person (the browser, the docs page)."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Any:
        user = request.user
        if not user.is_authenticated or not user.is_active:
            return None
        csrf_exempt = getattr(request, "_ninja_csrf_exempt", False)
        if request.method not in _SAFE_METHODS and not csrf_exempt and check_csrf(request):
            raise ApiError(
                403,
                ErrorCode.CSRF_FAILED,
                _(
                    "CSRF check failed: send the csrftoken cookie's value in an X-CSRFToken "
                    "header, or use a bearer token."
                ),
            )
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return None  # __call__ does the work; the cookie alone proves nothing


def acting_user(request: HttpRequest) -> AbstractBaseUser:
    """The authenticated user of an operation (set by ninja from the auth that succeeded)."""
    return cast(AbstractBaseUser, request.auth)  # type: ignore[attr-defined]


API_AUTH = [BearerTokenAuth(), SessionAuth()]
