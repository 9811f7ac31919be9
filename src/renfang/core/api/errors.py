"""Error bodies: one shape for every error the API answers, ninja's own included.

``{"error": {"code": "not_found", "message": "…", "fields": [{"field": "area", "message": "…"}]}}``

``code`` is stable (clients branch on it); ``message`` is for people and follows the request's
language; ``fields`` names the parameters at fault (empty when none is).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from renfang.accounts.powers import PowerLacking
from renfang.core.api.parser import BodyRefused

logger = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    VALIDATION_ERROR = "validation_error"
    BAD_REQUEST = "bad_request"
    NOT_AUTHENTICATED = "not_authenticated"
    PERMISSION_DENIED = "permission_denied"
    CSRF_FAILED = "csrf_failed"
    PURPOSE_REQUIRED = "purpose_required"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    TOO_MANY_REQUESTS = "too_many_requests"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    SERVER_ERROR = "server_error"


class FieldError(Schema):
    field: str
    message: str


class ErrorDetail(Schema):
    code: ErrorCode
    message: str
    fields: list[FieldError]


class ErrorOut(Schema):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """An error answer: raise it anywhere below an operation."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        fields: Iterable[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields)
        self.headers = headers or {}
        super().__init__(message)


def not_found(field: str | None = None) -> ApiError:
    """The answer for a record that does not exist and for one outside the user's area alike."""
    message = _("Not found.")
    return ApiError(404, ErrorCode.NOT_FOUND, message, [(field, message)] if field else [])


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        ErrorCode.VALIDATION_ERROR,
        _("The request is not valid; see fields."),
        [(field, message)],
    )


def field_not_granted() -> ApiError:
    """A department reader asked for a part of people's records its grant does not list."""
    return ApiError(
        403,
        ErrorCode.PERMISSION_DENIED,
        _("Your role is not granted this part of people's records."),
    )


def not_authenticated(message: str | None = None) -> ApiError:
    return ApiError(
        401,
        ErrorCode.NOT_AUTHENTICATED,
        message or _("Authentication required: send Authorization: Bearer <key>, or log in first."),
        headers={"WWW-Authenticate": 'Bearer realm="renfang"'},
    )


def error_response(
    status: int,
    code: ErrorCode,
    message: str,
    fields: Sequence[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body = {
        "error": {
            "code": str(code),
            "message": message,
            "fields": [{"field": field, "message": text} for field, text in fields],
        }
    }
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _validation_fields(errors: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """ninja's error locations ("query", "page_size") / ("body", "payload", "purpose") as the
    name a client sent."""
    fields = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in {"query", "path", "header", "cookie", "body", "form"}:
            source = location.pop(0)
            if source == "body" and len(location) > 1:
                location.pop(0)  # the view's parameter name, not something the client sent
        fields.append((".".join(location) or "body", str(error.get("msg", ""))))
    return fields


_STATUS_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    422: ErrorCode.VALIDATION_ERROR,
    429: ErrorCode.TOO_MANY_REQUESTS,
}


def _on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(
        422,
        ErrorCode.VALIDATION_ERROR,
        _("The request is not valid; see fields."),
        _validation_fields(exc.errors),
    )


def _on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _on_api_error(request, not_authenticated())


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = _STATUS_CODES.get(exc.status_code, ErrorCode.BAD_REQUEST)
    if exc.status_code == 400 and isinstance(exc.__cause__, BodyRefused):
        # ninja's "Cannot parse request body": say what is wrong (renfang.core.api.parser).
        reason = str(exc.__cause__)
        if exc.__cause__.field:
            return error_response(
                422,
                ErrorCode.VALIDATION_ERROR,
                _("The request is not valid; see fields."),
                [(exc.__cause__.field, reason)],
            )
        return error_response(
            400, code, _("The request body cannot be read: %(reason)s.") % {"reason": reason}
        )
    if exc.status_code == 403 and "csrf" in exc.message.lower():
        code = ErrorCode.CSRF_FAILED
    return error_response(exc.status_code, code, exc.message)


def _on_power_lacking(request: HttpRequest, exc: PowerLacking) -> HttpResponse:
    # Audited as denied where it was raised (renfang.accounts.powers).
    return _on_api_error(
        request, ApiError(403, ErrorCode.PERMISSION_DENIED, _("Your role may not do this."))
    )


def _on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _on_api_error(request, not_found())


def _on_exception(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(
        500, ErrorCode.SERVER_ERROR, _("Something went wrong on the server; it has been logged.")
    )


def install_error_handlers(api: NinjaAPI) -> None:
    # ninja types a handler as taking the exception or its class; it only ever passes instances.
    handlers: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
        (ApiError, _on_api_error),
        (ValidationError, _on_validation_error),
        (AuthenticationError, _on_authentication_error),
        (HttpError, _on_http_error),
        (PowerLacking, _on_power_lacking),  # before Http404, its base
        (Http404, _on_404),
        (Exception, _on_exception),
    ]
    for exception_class, handler in handlers:
        api.add_exception_handler(exception_class, handler)


def method_not_allowed(allowed: str) -> HttpResponse:
    return error_response(
        405,
        ErrorCode.METHOD_NOT_ALLOWED,
        _("This method is not allowed here."),
        headers={"Allow": allowed},
    )


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error responses an operation documents, by status (the one error schema for each)."""
    return dict.fromkeys(statuses, ErrorOut)
