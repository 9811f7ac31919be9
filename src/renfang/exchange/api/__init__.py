"""The API of the exchange (数据交换): the change feed a department pulls, "as of" reads of
people on a past day, and the district administrator's subscriptions and webhooks.

``GET /feed`` is the caller's own feed: the events of one of its active subscriptions after a
sequence number, in order, filtered and masked by its grant and subscription
(``exchange.selectors``); ``next_after`` is where to resume. Replaying a request gives the same
events (events are never changed). Every page read is audited once (record type ``feed``).

``/subscriptions`` is for the district administrator (``administers_users``): others are
refused with 403 ``permission_denied``.

The package: ``schemas`` (what it takes and answers), ``queries`` (what the operations look up
and build), ``endpoints`` (the operations, on ``feed_router`` and ``router``). ADR 0029.
"""

from renfang.exchange.api.endpoints import feed_router, router

__all__ = ["feed_router", "router"]
