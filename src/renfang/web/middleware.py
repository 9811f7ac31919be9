"""The language of the pages: Chinese unless the user chose another with the switch."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation


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
