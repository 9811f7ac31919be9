"""The NinjaAPI instance: /api/schema (OpenAPI 3), /api/docs (Swagger UI, served from the
app's own static files) and the routers of the domain apps."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from renfang.api.me import router as me_router
from renfang.api.search import router as search_router
from renfang.areas.api import router as areas_router
from renfang.codes.api import router as codes_router
from renfang.core.api.auth import API_AUTH
from renfang.core.api.errors import (
    ErrorCode,
    error_response,
    install_error_handlers,
    method_not_allowed,
)
from renfang.core.api.language import in_requested_language, requested_language
from renfang.core.api.parser import StrictJsonParser
from renfang.exchange.api import feed_router
from renfang.exchange.api import router as subscriptions_router
from renfang.houses.api import router as houses_router
from renfang.linkage.api import people_router as linkage_people_router
from renfang.linkage.api import router as review_router
from renfang.people.api import router as people_router
from renfang.people.conflicts_api import router as conflicts_router
from renfang.sources.api.endpoints import router as sources_router
from renfang.sources.api.endpoints import unmapped_router
from renfang.stats.api import router as stats_router

API_VERSION = "1.0.0"

DESCRIPTION = """
The register of the actual population and housing (实有人口、实有房屋) of the district, for
department systems and for the browser.

**Authentication.** Systems send `Authorization: Bearer <key>` with a key made by
`renfang tokens create USERNAME --name NAME`. In the browser, the login session works too
(unsafe methods then need the `X-CSRFToken` header).

**Access.** You see the people who live or hold hukou in your area and the houses in your area,
nothing else: a record outside it answers 404 `not_found`, the same as a missing one. ID and
phone numbers are masked unless your role needs them whole; `POST /api/people/{id}/unmask`
shows one with a purpose. Every read, search and unmask is audited.

**Powers.** Sources and unmapped codes need a role that manages sources; the review queue,
merge and split one that resolves identities; conflicts one that settles them (see
`accounts/data/roles.toml`). Without it: 403 `permission_denied`.

**Errors** always have the body
`{"error": {"code": "...", "message": "...", "fields": [{"field": "...", "message": "..."}]}}`;
`code` is stable: `not_found`, `validation_error`, `bad_request`, `not_authenticated`,
`permission_denied`, `csrf_failed`, `purpose_required`, `method_not_allowed`,
`too_many_requests`, `payload_too_large` (a body over the limit, 413), `server_error`.

**Lists** take `page` (from 1) and `page_size` (at most 200) and give `count`, `pages` and
`results`. Labels and messages are in Chinese unless the request sends `Accept-Language: en`.
""".strip()


def _json_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answers ninja gives outside any operation (a method a path does not take, the bare
    /api/ root) in the error shape too."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return _not_found(request)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return method_not_allowed(response.get("Allow", ""))
        return response

    return wrapper


@csrf_exempt
def _not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    with translation.override(requested_language(request) or translation.get_language()):
        return error_response(404, ErrorCode.NOT_FOUND, translation.gettext("Not found."))


class RenfangAPI(NinjaAPI):
    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _json_errors(pattern.callback)
        # Any other path under /api/: the JSON 404, not the HTML page.
        patterns.append(re_path(r"^.+$", _not_found, name="api-not-found"))
        return patterns, app_name, namespace


api = RenfangAPI(
    title="renfang API",
    version=API_VERSION,
    description=DESCRIPTION,
    openapi_url="/schema",
    docs_url="/docs",
    urls_namespace="api",
    auth=API_AUTH,
    parser=StrictJsonParser(),
)
install_error_handlers(api)
api.add_decorator(in_requested_language, mode="view")
api.add_router("/people", people_router)
api.add_router("/people", linkage_people_router)  # merge and split: linkage's services
api.add_router("/houses", houses_router)
api.add_router("/areas", areas_router)
api.add_router("/codes", codes_router)
api.add_router("/stats", stats_router)
api.add_router("/search", search_router)
api.add_router("/me", me_router)
api.add_router("/sources", sources_router)
api.add_router("/unmapped-codes", unmapped_router)
api.add_router("/review-pairs", review_router)
api.add_router("/conflicts", conflicts_router)
api.add_router("/feed", feed_router)
api.add_router("/subscriptions", subscriptions_router)
