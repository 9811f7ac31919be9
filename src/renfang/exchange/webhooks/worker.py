"""The delivery loop behind ``renfang worker`` (ADR 0016): plan, claim, send, record.

The database does the coordination: claims are committed with a lease before anything is
sent, so any number of workers may run on PostgreSQL (claims skip each other's locked
rows), one on SQLite, and a worker may be killed at any moment without losing a delivery.
Sending happens in a small thread pool (no database work in it), so one slow receiver does
not hold up the others; the main thread does all database work.
"""

from __future__ import annotations

import datetime
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone, translation

from renfang.exchange.webhooks import signing
from renfang.exchange.webhooks.addresses import AddressRefused, check_url
from renfang.exchange.webhooks.sending import Answer, post
from renfang.exchange.webhooks.services import (
    GONE,
    LEASE,
    Claim,
    deliveries_claim,
    deliveries_plan,
    deliveries_record,
)

log = logging.getLogger("renfang.webhooks")
Clock = Callable[[], datetime.datetime]


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 8  # deliveries sent at once
    timeout: float = 10.0  # seconds a receiver has to answer
    lease: float = LEASE.total_seconds()  # seconds a claimed delivery stays with its worker
    idle: float = 0.2  # seconds to sleep when there is nothing to do

    def __post_init__(self) -> None:
        if self.lease <= self.timeout * self.rounds:
            raise ValueError("the lease must be longer than the timeout")

    # A claim takes a few rounds of sends at once (fewer commits per delivery); the lease
    # covers them all, even when every receiver of the batch times out.
    rounds = 4

    @property
    def batch(self) -> int:
        return self.concurrency * self.rounds


def attempt(claim: Claim, *, timeout: float, at: datetime.datetime) -> Answer:
    """One attempt of one claimed delivery: the address checked again (its name may resolve
    elsewhere now), signed with this attempt's timestamp, posted."""
    try:
        target = check_url(claim.url, allow_private=claim.allow_private)
    except AddressRefused as refused:
        return Answer(status=None, error=str(refused))
    body = claim.payload.encode()
    headers = signing.headers(claim.secret, claim.webhook_id, int(at.timestamp()), body)
    return post(target, headers, body, timeout=timeout)


class Worker:
    """Delivers what is due. ``clock`` gives "now" (tests move it hours ahead)."""

    def __init__(
        self,
        options: WorkerOptions | None = None,
        *,
        clock: Clock = timezone.now,
        rng: random.Random | None = None,
    ) -> None:
        self.options = options or WorkerOptions()
        self.clock = clock
        self.rng = rng or random.Random()
        self.pool = ThreadPoolExecutor(
            max_workers=self.options.concurrency, thread_name_prefix="webhook"
        )
        self.delivered = 0
        self.failed = 0

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def step(self) -> int:
        """Plan, then claim and send one batch; returns how many deliveries were attempted."""
        now = self.clock()
        deliveries_plan(now=now)
        claims = deliveries_claim(
            limit=self.options.batch,
            now=now,
            lease=datetime.timedelta(seconds=self.options.lease),
        )
        if not claims:
            return 0
        gone: set[int] = set()  # endpoints that answered 410 in this batch: send no more
        # The pool's threads record errors in the worker's language, not the default one.
        language = translation.get_language()

        def send(claim: Claim) -> Answer:
            if claim.endpoint_id in gone:
                return Answer(status=None, error="not sent: the endpoint answered 410 Gone")
            with translation.override(language):
                answer = attempt(claim, timeout=self.options.timeout, at=self.clock())
            if answer.status == GONE:
                gone.add(claim.endpoint_id)
            return answer

        answers = list(self.pool.map(send, claims))
        statuses = deliveries_record(
            list(zip(claims, answers, strict=True)), now=self.clock(), rng=self.rng
        )
        for claim, answer, status in zip(claims, answers, statuses, strict=True):
            if answer.delivered:
                self.delivered += 1
            else:
                self.failed += 1
            log.debug(
                "%s attempt %d: %s -> %s",
                claim.webhook_id,
                claim.attempts,
                answer.status or answer.error,
                status,
            )
        return len(claims)

    def drain(self) -> int:
        """Attempt everything due now, until nothing is; returns the number of attempts."""
        total = 0
        while attempted := self.step():
            total += attempted
        return total

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; a lost database connection is reopened, not fatal."""
        while not stop.is_set():
            try:
                attempted = self.step()
            except DatabaseError:
                log.exception("database error; reconnecting")
                connection.close()
                stop.wait(max(self.options.idle, 1.0))
                continue
            if not attempted:
                close_old_connections()
                stop.wait(self.options.idle)
