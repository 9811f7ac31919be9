"""The language of the pages (Chinese unless the user chose another with the switch), and the
headers and limits every request and answer passes (issue 11: web hardening)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's LocaleMiddleware, minus the browser's Accept-Language.

    renfang is a Chinese register used on whatever browser an office has; an English browser
    must not turn the pages English. The language cookie set by the switch (/i18n/setlang/)
    decides, and without it ``LANGUAGE_CODE`` (zh-hans) does.
    """

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        try:
            language = translation.get_supported_language_variant(chosen)
        except LookupError:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class SecurityHeadersMiddleware:
    """Headers every answer carries (docs/adr/0023-web-hardening.md).

    ``Content-Security-Policy`` (``settings.RENFANG_CONTENT_SECURITY_POLICY``): scripts, styles,
    images and connections from this site only; no inline scripts, no plugins, no framing.
    ``Cache-Control: no-store`` (and ``Pragma: no-cache`` for old proxies): pages, API answers
    and exports hold people's records; no browser, proxy or shared computer keeps a copy.
    Static files (``STATIC_URL``) are served by the web server in production and keep their
    caching.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.static = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy = settings.RENFANG_CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        if not request.path.startswith(self.static):
            add_never_cache_headers(response)  # no-store, no-cache, private, max-age=0
            response["Pragma"] = "no-cache"
        return response


class BodySizeMiddleware:
    """A request body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (a form with files included: no page
    takes a large file) is refused up front with 413, a JSON error on the API and a page
    elsewhere, before anything reads it (Django would otherwise fail deep inside a view, 500 on
    the API, 400 on a page)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return too_large(request)
        return self.get_response(request)


def too_large(request: HttpRequest) -> HttpResponse:
    """The 413 answer: the API's error body, or a page."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0

    def message() -> str:
        return _("The request is too large: at most %(size)s bytes are accepted.") % {
            "size": f"{limit:,}"
        }

    if request.path.startswith("/api/"):
        # no cycle: the API plumbing is imported only for its answers
        from renfang.core.api.errors import ErrorCode, error_response  # noqa: PLC0415
        from renfang.core.api.language import requested_language  # noqa: PLC0415

        # In the language the client asked for, as every other API answer.
        with translation.override(requested_language(request) or translation.get_language()):
            return error_response(413, ErrorCode.PAYLOAD_TOO_LARGE, message())
    return render(request, "web/too_large.html", {"message": message()}, status=413)
