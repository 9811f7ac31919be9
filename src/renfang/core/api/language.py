"""The language of an API answer: clients choose it with Accept-Language (the pages ignore
it; see ``renfang.web.middleware``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header


def requested_language(request: HttpRequest) -> str | None:
    for language, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if language == "*":
            continue
        try:
            return translation.get_supported_language_variant(language)
        except LookupError:
            continue
    return None


def in_requested_language(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """API clients choose the language with Accept-Language (the pages ignore it; see
    ``renfang.web.middleware``); without it, the site's language holds."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = requested_language(request)
        if language is None:
            return run(request, *args, **kwargs)
        with translation.override(language):
            return run(request, *args, **kwargs)

    return wrapper
