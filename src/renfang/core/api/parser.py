"""Reading API request bodies: JSON in UTF-8, nothing a database or a later reader chokes on.

ninja's own parser hands on whatever ``json.loads`` makes of the body, so a string with a NUL
character or half a surrogate pair, or ``NaN``, reached the database and answered 500. Here
such a body is refused with 400 ``bad_request`` and a message that says what is wrong."""

from __future__ import annotations

import json
import math
from typing import Any, cast

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.parser import Parser
from ninja.types import DictStrAny

# Deeper than any body of the API needs (records are flat, filters are lists).
MAX_DEPTH = 32


class BodyRefused(ValueError):
    """A body the API does not read; the message says why, ``field`` names the value at fault
    (then the answer is 422 naming it, like any invalid field; else 400)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _no_constant(name: str) -> Any:
    raise BodyRefused(_("%(value)s is not a number JSON allows") % {"value": name})


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyRefused(_("%(value)s is too large a number") % {"value": text[:40]})
    return value


def _check_text(text: str, field: str) -> None:
    if "\x00" in text:
        raise BodyRefused(_("a text holds a NUL character"), field or "body")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BodyRefused(_("a text holds half a surrogate pair"), field or "body") from error


def _printable(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def check_value(data: Any) -> None:
    """Walk the parsed body (without recursion): depth, and every key and text."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, field = stack.pop()
        if isinstance(value, str):
            _check_text(value, field)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise BodyRefused(
                    _("the body is nested deeper than %(depth)s levels") % {"depth": MAX_DEPTH}
                )
            prefix = f"{field}." if field else ""
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text(key, prefix + _printable(key))
                    stack.append((item, depth + 1, prefix + key))
            else:
                stack.extend((item, depth + 1, f"{prefix}{i}") for i, item in enumerate(value))


class StrictJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> DictStrAny:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BodyRefused(_("the body is not UTF-8")) from error
        try:
            data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        except RecursionError as error:
            raise BodyRefused(
                _("the body is nested deeper than %(depth)s levels") % {"depth": MAX_DEPTH}
            ) from error
        except json.JSONDecodeError as error:
            content_type = request.content_type or ""
            if content_type and "json" not in content_type:
                raise BodyRefused(
                    _("send JSON with Content-Type: application/json, not %(type)s")
                    % {"type": content_type}
                ) from error
            raise BodyRefused(
                _("the body is not valid JSON (line %(line)s, column %(column)s: %(reason)s)")
                % {"line": error.lineno, "column": error.colno, "reason": error.msg}
            ) from error
        check_value(data)
        return cast(DictStrAny, data)
