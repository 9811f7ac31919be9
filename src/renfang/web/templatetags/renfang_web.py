"""Small template helpers for renfang's pages."""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.http import HttpRequest
from django.utils.translation import gettext as _

from renfang.accounts.access import NO_ACCESS, Access, access_for

register = template.Library()


@register.simple_tag
def query_with(request: HttpRequest, key: str, value: Any) -> str:
    """The current query string with one parameter replaced (for pagination links)."""
    params = request.GET.copy()
    if value is None or value == "":
        params.pop(key, None)
    else:
        params[key] = str(value)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def validity(valid_from: datetime.date | None, valid_to: datetime.date | None) -> str:
    """A fact's validity as "2019-03-01 – 2021-06-30"; open ends are said in words."""
    start = valid_from.isoformat() if valid_from else _("unknown")
    end = valid_to.isoformat() if valid_to else _("now")
    return f"{start} – {end}"


@register.filter
def percent(value: float | int | None) -> str:
    """A growth or share in percent with its sign, "+8.63 %"; nothing to say when missing."""
    if value is None:
        return "—"
    return f"{value:+.2f} %"


@register.filter
def thousands(value: int | None) -> str:
    """1033249 as "1,033,249" in every language, the way statistical reports print it (the
    zh-hans locale of Django groups nothing)."""
    if value is None:
        return "—"
    return f"{value:,}"


@register.simple_tag(takes_context=True)
def user_access(context: template.Context) -> Access:
    """What the logged-in user may see and do (for the navigation): ``{% user_access as a %}``."""
    request: HttpRequest | None = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return access_for(user) if user is not None else NO_ACCESS


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    """``mapping[key]`` in a template (``{{ labels|get_item:field }}``); empty when missing."""
    return mapping.get(key, "") if isinstance(mapping, dict) else ""
