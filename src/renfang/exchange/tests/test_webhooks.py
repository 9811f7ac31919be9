"""Webhooks (Standard Webhooks) pushed by the worker: signed, retried, never lost.

Receivers are small HTTP servers on 127.0.0.1 (allowed through ``allow_private``, as the
district administrator would for a department inside the government network). Time is the
worker's clock, moved hours ahead without waiting.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone, translation

from renfang.accounts.models import PersonField, Role
from renfang.accounts.services import role_grant
from renfang.areas.models import Area
from renfang.audit.models import AuditEvent
from renfang.core.changes import FieldChange
from renfang.exchange.events import PersonChange, publish_person_changes
from renfang.exchange.models import (
    Delivery,
    DeliveryStatus,
    Event,
    Subscription,
    WebhookEndpoint,
)
from renfang.exchange.selectors import feed_events, view_of
from renfang.exchange.webhooks import WebhookError, signing
from renfang.exchange.webhooks.addresses import AddressRefused
from renfang.exchange.webhooks.services import (
    RETRY_FOR,
    delivery_resend,
    endpoint_create,
    endpoint_enable,
)
from renfang.exchange.webhooks.worker import Worker, WorkerOptions
from renfang.people.models import Person
from renfang.register.importer import register_import
from renfang.register.tests.test_import import (
    TODAY,
    ZHANG,
    reference,  # noqa: F401 (the fixture)
    row,
    write,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]

START = datetime.datetime(2026, 6, 30, 9, 0, tzinfo=datetime.UTC)


# ---------------------------------------------------------------- a receiver


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: the worker connects 8 at a time


class Receiver:
    """An HTTP server that records every request and answers what ``answer`` says."""

    def __init__(self, answer: Callable[[dict[str, str], bytes], int] = lambda h, b: 204):
        self.answer = answer
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver.answer(headers, body)
                with receiver.lock:
                    receiver.requests.append((headers, body, status))
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone (killed): nothing to answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/renfang"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> dict[str, list[bytes]]:
        """The bodies answered 2xx, by webhook-id."""
        found: dict[str, list[bytes]] = {}
        with self.lock:
            for headers, body, status in self.requests:
                if 200 <= status < 300:
                    found.setdefault(headers["webhook-id"], []).append(body)
        return found


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(answer: Callable[[dict[str, str], bytes], int] = lambda h, b: 204) -> Receiver:
        made.append(Receiver(answer))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


class Clock:
    def __init__(self, now: datetime.datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now


# ---------------------------------------------------------------- the register


@pytest.fixture
def subscription(tmp_path: Path) -> Subscription:
    """Civil affairs, granted names in the district, subscribed to all it may see."""
    register_import(path=write(tmp_path / "r.csv", [row()]), today=TODAY)
    user = User.objects.create_user("civil_affairs", password="x-unused-x")
    role_grant(
        user=user,
        role=Role.DEPARTMENT_READER,
        area=Area.objects.get(code="310104"),
        fields=[PersonField.NAME],
        granted_by=None,
    )
    return Subscription.objects.create(subscriber=user, name="name changes")


def publish_names(count: int, start: int = 0) -> list[int]:
    """``count`` changes of Zhang Wei's name, one transaction each; their sequence numbers."""
    person = Person.objects.get(id_number=ZHANG)
    for number in range(start, start + count):
        change = PersonChange(
            person_id=person.pk,
            changes=[{"field": "name", "old": f"张{number}", "new": f"张{number + 1}"}],
            source="test",
        )
        with transaction.atomic():
            publish_person_changes([change], today=TODAY)
    return list(Event.objects.order_by("-seq").values_list("seq", flat=True)[:count])[::-1]


def webhook(subscription: Subscription, receiver: Receiver) -> WebhookEndpoint:
    return endpoint_create(subscription, receiver.url, allow_private=True, user=None)


def worker(clock: Clock, seed: int = 1) -> Worker:
    return Worker(
        WorkerOptions(concurrency=4, timeout=5, lease=30, idle=0.05),
        clock=clock,
        rng=random.Random(seed),
    )


def run_until_settled(work: Worker, clock: Clock, until: datetime.datetime | None = None) -> None:
    """Attempt what is due, then move the clock to the next attempt; until nothing waits
    (or the clock would pass ``until``)."""
    while True:
        work.drain()
        due = (
            Delivery.objects.filter(status=DeliveryStatus.PENDING)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if due is None or (until is not None and due > until):
            return
        clock.now = max(clock.now, due)


def seq_of(body: bytes) -> int:
    return int(json.loads(body)["data"]["seq"])


# ---------------------------------------------------------------- signing


def test_the_signature_matches_the_specifications_test_vector() -> None:
    # Published with the Standard Webhooks libraries (libraries/*/webhook test "sign").
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signature = signing.sign(
        secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_receiver_verifies_the_push_with_its_secret_and_not_with_another(
    subscription: Subscription, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    endpoint = webhook(subscription, receiver)
    assert endpoint.secret.startswith("whsec_")
    assert len(signing.secret_bytes(endpoint.secret)) == 32
    [seq] = publish_names(1)

    worker(Clock(timezone.now())).drain()

    [(headers, body, _status)] = receiver.requests
    signing.verify(endpoint.secret, headers, body, now=int(time.time()))
    assert headers["webhook-id"] == f"msg_{endpoint.pk}_{seq}"
    pushed = json.loads(body)
    assert pushed["type"] == "person.changed"
    # Push carries exactly what pull shows.
    shown, _last = feed_events(view_of(subscription), after=seq - 1, limit=1)
    assert pushed["data"] == json.loads(json.dumps(shown[0]))
    assert pushed["data"]["changes"] == [{"field": "name", "old": "张0", "new": "张1"}]
    with pytest.raises(signing.SignatureError):
        signing.verify(signing.new_secret(), headers, body)
    with pytest.raises(signing.SignatureError):
        signing.verify(endpoint.secret, headers, body.replace(b"1", b"2"))
    with pytest.raises(signing.SignatureError):
        signing.verify(endpoint.secret, headers, body, now=int(time.time()) + 3600)


def test_push_never_carries_a_field_outside_the_grant(
    subscription: Subscription, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    webhook(subscription, receiver)
    person = Person.objects.get(id_number=ZHANG)
    phone: FieldChange = {"field": "phone", "old": "13812345678", "new": "13900000000"}
    name: FieldChange = {"field": "name", "old": "张伟", "new": "张玮"}
    with transaction.atomic():
        publish_person_changes(
            [PersonChange(person.pk, [phone], "t"), PersonChange(person.pk, [phone, name], "t")],
            today=TODAY,
        )

    worker(Clock(timezone.now())).drain()

    # The phone-only change shows nothing to a department granted names: not pushed.
    [(_headers, body, _status)] = receiver.requests
    assert json.loads(body)["data"]["changes"] == [name]
    # Nowhere in the body either (a timestamp may hold any digits: look for the numbers).
    assert b"13812345678" not in body
    assert b"13900000000" not in body
    assert b'"phone"' not in body


# ---------------------------------------------------------------- reliability


def test_a_receiver_failing_30_percent_gets_every_event_duplicates_only_by_webhook_id(
    subscription: Subscription, receivers: Callable[..., Receiver]
) -> None:
    chance = random.Random(30)
    # Some failures come after the receiver has processed the event (it answers 500 anyway):
    # those are the duplicates, and they must carry the same webhook-id and the same bytes.
    receiver = receivers(lambda headers, body: 500 if chance.random() < 0.3 else 200)
    endpoint = webhook(subscription, receiver)
    seqs = publish_names(60)
    clock = Clock()

    run_until_settled(worker(clock), clock)

    failures = sum(1 for _h, _b, status in receiver.requests if status == 500)
    assert 0.2 < failures / len(receiver.requests) < 0.4
    by_id: dict[str, set[bytes]] = {}
    for headers, body, _status in receiver.requests:
        by_id.setdefault(headers["webhook-id"], set()).add(body)
    assert all(len(bodies) == 1 for bodies in by_id.values())  # byte-identical retries
    seq_by_id = {webhook_id: seq_of(next(iter(b))) for webhook_id, b in by_id.items()}
    assert sorted(seq_by_id.values()) == seqs  # each event under one webhook-id only
    assert sorted(seq_of(b[0]) for b in receiver.accepted().values()) == seqs
    assert len(receiver.requests) > len(seqs)  # there were retries
    assert Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DELIVERED).count() == 60


def test_a_receiver_down_for_hours_is_retried_with_growing_delays_and_gets_everything(
    subscription: Subscription, receivers: Callable[..., Receiver]
) -> None:
    down_until = START + datetime.timedelta(hours=5)
    clock = Clock()
    receiver = receivers(lambda headers, body: 503 if clock.now < down_until else 200)
    webhook(subscription, receiver)
    seqs = publish_names(5)
    work = worker(clock)

    run_until_settled(work, clock)

    assert sorted(seq_of(b[0]) for b in receiver.accepted().values()) == seqs
    stamps: dict[str, list[int]] = {}
    for headers, _body, _status in receiver.requests:
        stamps.setdefault(headers["webhook-id"], []).append(int(headers["webhook-timestamp"]))
    for times in stamps.values():
        delays = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        # 2.5–5 s, 5–30 s, 30 s–2 min, 2–10 min, 10–30 min, 30–60 min, 1–2 h, 2–4 h: each
        # wait is at least the one before, and the last one ends after the receiver is back.
        assert len(delays) >= 7
        assert delays == sorted(delays)
        assert 2 <= delays[0] <= 5
        assert times[-1] >= down_until.timestamp()
        assert times[-2] < down_until.timestamp()
    assert not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()


def test_after_72_hours_without_success_the_deliveries_are_dead_letters(
    subscription: Subscription, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers(lambda headers, body: 500)
    webhook(subscription, receiver)
    publish_names(3)
    clock = Clock()

    run_until_settled(worker(clock), clock, until=START + datetime.timedelta(hours=71))
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 3
    run_until_settled(worker(clock), clock)

    for delivery in Delivery.objects.all():
        assert delivery.status == DeliveryStatus.DEAD
        assert delivery.first_attempt_at == START
        assert delivery.last_attempt_at is not None
        # Retried for at least 72 hours, and not much longer (one step of 4–8 hours).
        assert (
            RETRY_FOR <= delivery.last_attempt_at - START < RETRY_FOR + datetime.timedelta(hours=8)
        )
        assert delivery.last_status_code == 500
        assert delivery.last_error == "HTTP 500"
    assert len(receiver.requests) == sum(d.attempts for d in Delivery.objects.all())


def test_a_410_answer_disables_the_endpoint_and_dead_letters_what_waits(
    subscription: Subscription, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers(lambda headers, body: 410)
    endpoint = webhook(subscription, receiver)
    publish_names(6)
    clock = Clock()
    work = Worker(WorkerOptions(concurrency=1, timeout=5, lease=30), clock=clock)

    run_until_settled(work, clock)
    publish_names(2, start=10)
    run_until_settled(work, clock)

    endpoint.refresh_from_db()
    assert not endpoint.enabled
    with translation.override("en"):
        assert "410 Gone" in endpoint.disabled_reason
    assert len(receiver.requests) == 1  # nothing more was sent after the 410
    assert Delivery.objects.filter(status=DeliveryStatus.DEAD).count() == 6
    assert not Delivery.objects.filter(status=DeliveryStatus.PENDING).exists()
    assert AuditEvent.objects.filter(record_type="webhook", detail__reason="410 Gone").exists()


def test_a_dead_letter_sent_again_is_delivered_with_its_webhook_id(
    subscription: Subscription, receivers: Callable[..., Receiver]
) -> None:
    answers = iter([410])
    receiver = receivers(lambda headers, body: next(answers, 200))
    endpoint = webhook(subscription, receiver)
    [seq] = publish_names(1)
    clock = Clock()
    run_until_settled(worker(clock), clock)
    dead = Delivery.objects.get()
    assert dead.status == DeliveryStatus.DEAD

    with translation.override("en"), pytest.raises(WebhookError, match="enable the endpoint"):
        delivery_resend(dead, user=None)
    endpoint_enable(endpoint, user=None)
    delivery_resend(dead, user=None, now=clock.now)
    run_until_settled(worker(clock), clock)

    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.DELIVERED
    first, again = receiver.requests
    assert first[0]["webhook-id"] == again[0]["webhook-id"] == f"msg_{endpoint.pk}_{seq}"
    assert first[1] == again[1]
    assert AuditEvent.objects.filter(record_type="webhook_delivery", record_id=dead.webhook_id)
    with translation.override("en"), pytest.raises(WebhookError, match="only a dead letter"):
        delivery_resend(dead, user=None)


def test_events_missed_while_disabled_are_delivered_when_enabled_again_unless_skipped(
    subscription: Subscription, receivers: Callable[..., Receiver]
) -> None:
    from renfang.exchange.webhooks.services import endpoint_disable  # noqa: PLC0415

    receiver = receivers()
    endpoint = webhook(subscription, receiver)
    endpoint_disable(endpoint, reason="maintenance", user=None)
    missed = publish_names(2)
    clock = Clock(timezone.now())
    worker(clock).drain()
    assert receiver.requests == []

    endpoint_enable(endpoint, user=None)
    worker(clock).drain()
    assert sorted(seq_of(b[0]) for b in receiver.accepted().values()) == missed

    endpoint_disable(endpoint, reason="maintenance", user=None)
    publish_names(2, start=5)
    endpoint_enable(endpoint, skip_missed=True, user=None)
    worker(clock).drain()
    assert len(receiver.requests) == 2


# ---------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://10.0.0.1/hook", "private network"),
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:10.0.0.1]/hook", "private network"),
        ("https://224.0.0.1/hook", "multicast"),
        ("http://0.0.0.0/hook", "unspecified"),
    ],
)
def test_private_addresses_are_refused_unless_the_administrator_allows_them(
    subscription: Subscription, url: str, kind: str
) -> None:
    with translation.override("en"), pytest.raises(AddressRefused) as refused:
        endpoint_create(subscription, url, allow_private=False, user=None)
    assert kind in str(refused.value)
    assert "district administrator allows private networks" in str(refused.value)
    assert not WebhookEndpoint.objects.exists()

    endpoint = endpoint_create(subscription, url, allow_private=True, user=None)
    assert endpoint.allow_private


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://93.184.216.34/hook", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///hook", "has no host"),
        ("https://user:secret@93.184.216.34/hook", "user name or password"),
        ("http://93.184.216.34:99999/hook", "is not a valid address"),
        ("http://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_addresses_that_cannot_receive_webhooks_are_refused_with_the_reason(
    subscription: Subscription, url: str, message: str
) -> None:
    with translation.override("en"), pytest.raises(AddressRefused, match=message):
        endpoint_create(subscription, url, allow_private=True, user=None)


def test_a_public_address_is_accepted_and_audited_without_its_secret(
    subscription: Subscription,
) -> None:
    endpoint = endpoint_create(
        subscription, "https://93.184.216.34/hooks", allow_private=False, user=None
    )

    assert endpoint.enabled
    event = AuditEvent.objects.get(record_type="webhook", record_id=str(endpoint.pk))
    assert event.detail["url"] == "https://93.184.216.34/hooks"
    assert endpoint.secret.removeprefix("whsec_") not in json.dumps(event.detail)
    with translation.override("en"), pytest.raises(WebhookError, match="has a webhook already"):
        endpoint_create(subscription, "https://93.184.216.34/x", allow_private=False, user=None)


def test_only_the_district_administrator_may_allow_private_networks(
    subscription: Subscription,
) -> None:
    with translation.override("en"), pytest.raises(WebhookError, match="district admin"):
        endpoint_create(
            subscription, "http://10.0.0.1/", allow_private=True, user=subscription.subscriber
        )


def test_an_address_that_resolves_privately_later_is_refused_at_send_time(
    subscription: Subscription, receivers: Callable[..., Receiver], monkeypatch: Any
) -> None:
    receiver = receivers()
    port = receiver.server.server_address[1]
    import socket  # noqa: PLC0415

    answers = {"hooks.example.org": "93.184.216.34"}
    real = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    endpoint_create(
        subscription, f"http://hooks.example.org:{port}/x", allow_private=False, user=None
    )
    answers["hooks.example.org"] = "127.0.0.1"  # DNS now points inside
    publish_names(1)

    with translation.override("en"):
        worker(Clock(timezone.now())).drain()

    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert "127.0.0.1, a loopback address: refused" in delivery.last_error


# ---------------------------------------------------------------- a worker killed


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user = quote(settings["USER"] or "")
        password = f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else ""
        host = settings["HOST"] or "localhost"
        port = f":{settings['PORT']}" if settings["PORT"] else ""
        return f"postgres://{user}{password}@{host}{port}/{settings['NAME']}"
    return f"sqlite:///{settings['NAME']}"


def _start_worker(log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": _database_url()}
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 (our own command)
            [
                sys.executable,
                "-m",
                "renfang.cli",
                "worker",
                "--timeout=2",
                "--lease=10",
                "--idle=0.1",
                "--concurrency=4",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait(condition: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()}")
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_loses_nothing_when_restarted(
    subscription: Subscription, receivers: Callable[..., Receiver], tmp_path: Path
) -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        pytest.skip(
            "the worker runs in a subprocess and needs a database it can open: the SQLite "
            "test database is in memory (this test runs on PostgreSQL)"
        )
    release = threading.Event()
    first = threading.Event()

    def answer(headers: dict[str, str], body: bytes) -> int:
        if not first.is_set():
            first.set()
            release.wait(30)  # hold the first delivery until the worker is killed
        return 200

    receiver = receivers(answer)
    endpoint = webhook(subscription, receiver)
    seqs = publish_names(20)
    log = tmp_path / "worker.log"

    worker_process = _start_worker(log)
    try:
        _wait(first.is_set, 60, "the first delivery", log)
        worker_process.send_signal(signal.SIGKILL)
        worker_process.wait(10)
    finally:
        release.set()
        if worker_process.poll() is None:
            worker_process.kill()
    assert Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).exists()

    restarted = _start_worker(log)
    try:
        _wait(
            lambda: (
                not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()
                and Delivery.objects.count() == 20
            ),
            60,
            "every delivery",
            log,
        )
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(20) == 0, log.read_text()  # a clean shutdown
    finally:
        if restarted.poll() is None:
            restarted.kill()

    assert sorted(seq_of(b[0]) for b in receiver.accepted().values()) == seqs
    by_id: dict[str, set[bytes]] = {}
    for headers, body, _status in receiver.requests:
        by_id.setdefault(headers["webhook-id"], set()).add(body)
    assert len(by_id) == 20 and all(len(bodies) == 1 for bodies in by_id.values())
    # The delivery held when the worker died was sent again: a duplicate, same webhook-id.
    assert len(receiver.requests) > 20
