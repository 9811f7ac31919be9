"""The client's address behind a trusted proxy (issue 11, finding 10): the header is read only
from a configured proxy, right to left, skipping trusted proxies; from anyone else it is
ignored. The audit log and the lock-out use the same address."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from renfang.accounts.client_ip import client_ip, parse_networks
from renfang.accounts.tests.conftest import PASSWORD, log_in
from renfang.audit.models import Action, AuditEvent

WRONG = "Not-the-password-1"
PROXY = "10.9.0.2"


@pytest.fixture
def behind_proxy(settings) -> None:
    settings.RENFANG_TRUSTED_PROXIES = ["10.9.0.0/24", "fd00::/8"]
    settings.RENFANG_CLIENT_IP_HEADER = "X-Forwarded-For"


def _ip(remote: str, header: str | None = None, name: str = "HTTP_X_FORWARDED_FOR") -> str:
    request = RequestFactory().get("/")
    request.META["REMOTE_ADDR"] = remote
    if header is not None:
        request.META[name] = header
    return client_ip(request)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.RENFANG_TRUSTED_PROXIES = []

    assert _ip("203.0.113.7", "198.51.100.1") == "203.0.113.7"


@pytest.mark.usefixtures("behind_proxy")
@pytest.mark.parametrize(
    ("remote", "header", "client"),
    [
        (PROXY, "198.51.100.1", "198.51.100.1"),
        (PROXY, None, PROXY),
        # The client wrote a fake entry in front; the proxy appended the real one.
        (PROXY, "1.2.3.4, 198.51.100.1", "198.51.100.1"),
        # Two trusted proxies in a row: the right-most untrusted address.
        (PROXY, "198.51.100.1, 10.9.0.5", "198.51.100.1"),
        (PROXY, "198.51.100.1:51234", "198.51.100.1"),
        (PROXY, "[2001:db8::1]:443", "2001:db8::1"),
        (PROXY, "garbage, 198.51.100.1", "198.51.100.1"),
        (PROXY, "198.51.100.1, garbage", PROXY),
        (PROXY, "10.9.0.5", "10.9.0.5"),  # only proxies: the farthest one
        # A spoofed header from a peer that is not a trusted proxy.
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        ("203.0.113.7", "10.9.0.5", "203.0.113.7"),
    ],
)
def test_the_client_address_behind_a_trusted_proxy(remote: str, header: str | None, client: str):
    assert _ip(remote, header) == client


def test_the_header_is_a_setting(settings):
    settings.RENFANG_TRUSTED_PROXIES = [PROXY]
    settings.RENFANG_CLIENT_IP_HEADER = "X-Real-IP"

    assert _ip(PROXY, "198.51.100.1", "HTTP_X_REAL_IP") == "198.51.100.1"
    assert _ip(PROXY, "198.51.100.1") == PROXY  # X-Forwarded-For is not read now


def test_a_wrong_proxy_setting_is_named():
    with pytest.raises(ValueError, match="not-an-ip"):
        parse_networks("10.0.0.1, not-an-ip")


@pytest.mark.usefixtures("behind_proxy")
def test_the_audit_log_records_the_client_behind_the_proxy(clerk: User):
    log_in(Client(), "clerk", WRONG, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    log_in(Client(), "clerk", WRONG, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.9")

    ips = list(
        AuditEvent.objects.filter(action=Action.LOGIN_FAILED)
        .order_by("id")
        .values_list("ip", flat=True)
    )
    assert ips == ["198.51.100.1", "203.0.113.7"]


@pytest.mark.usefixtures("behind_proxy")
def test_the_lock_out_counts_clients_behind_one_proxy_by_username(clerk: User, auditor: User):
    # Behind the proxy everyone shares its address: the lock is the username's, not the
    # proxy's, so another user behind the same proxy still logs in.
    for n in range(1, 6):
        log_in(Client(), "clerk", WRONG, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")

    assert log_in(Client(), "clerk", PASSWORD, REMOTE_ADDR=PROXY).status_code == 429
    spoofed = log_in(
        Client(), "clerk", PASSWORD, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="10.9.0.9"
    )
    assert spoofed.status_code == 429
    assert log_in(Client(), "auditor", PASSWORD, REMOTE_ADDR=PROXY).status_code == 302
    locked = AuditEvent.objects.filter(action=Action.DENIED, username="clerk").order_by("id")
    # The lock (the fifth failure), then the two refused logins: each from its client.
    assert list(locked.values_list("ip", flat=True)) == ["198.51.100.5", PROXY, "203.0.113.7"]
