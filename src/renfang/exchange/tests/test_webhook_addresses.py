"""Webhook addresses (issue 11, finding 11): every special-purpose range of the IANA IPv4 and
IPv6 registries is refused, also when an IPv6 address carries a special IPv4 address inside
(6to4, NAT64, Teredo, IPv4-mapped and -compatible), when the endpoint is created and again
when a name resolves there at delivery time."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone, translation

from renfang.exchange.models import Delivery, DeliveryStatus, Subscription, WebhookEndpoint
from renfang.exchange.tests.test_webhooks import (
    Clock,
    Receiver,
    publish_names,
    receivers,
    subscription,
    worker,
)
from renfang.exchange.webhooks.addresses import AddressRefused, check_url
from renfang.exchange.webhooks.services import endpoint_create
from renfang.register.tests.test_import import reference

__all__ = ["receivers", "reference", "subscription"]  # fixtures

# (address, what the refusal says): one or more per range of the registries.
REFUSED = [
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "this network"),
    ("10.1.2.3", "private network"),
    ("100.64.0.1", "shared address space"),
    ("100.127.255.254", "shared address space"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.169.254", "link-local"),
    ("172.16.0.1", "private network"),
    ("172.31.255.255", "private network"),
    ("192.0.0.8", "IETF protocol assignment"),
    ("192.0.0.170", "IETF protocol assignment"),
    ("192.0.2.1", "documentation"),
    ("192.31.196.1", "AS112 service"),
    ("192.52.193.1", "AMT relay"),
    ("192.88.99.1", "6to4 relay anycast"),
    ("192.168.1.1", "private network"),
    ("192.175.48.1", "AS112 service"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("198.51.100.1", "documentation"),
    ("203.0.113.1", "documentation"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("[::]", "unspecified"),
    ("[::1]", "loopback"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped form of 127.0.0.1, loopback"),
    ("[::ffff:10.0.0.1]", "IPv4-mapped form of 10.0.0.1, private network"),
    ("[::127.0.0.1]", "IPv4-compatible form of 127.0.0.1, loopback"),
    ("[::8.8.8.8]", "IPv4-compatible"),
    ("[64:ff9b::7f00:1]", "NAT64 form of 127.0.0.1, loopback"),
    ("[64:ff9b::a9fe:a9fe]", "NAT64 form of 169.254.169.254, link-local"),
    ("[64:ff9b:1::808:808]", "local-use NAT64"),
    ("[100::1]", "discard-only"),
    ("[100:0:0:1::1]", "dummy prefix"),
    ("[2001:0:4136:e378:8000:63bf:80ff:fffe]", "Teredo form of 127.0.0.1, loopback"),
    ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "Teredo form of 192.0.2.45, documentation"),
    ("[2001:1::1]", "IETF protocol assignment"),
    ("[2001:2::1]", "IETF protocol assignment"),
    ("[2001:db8::1]", "documentation"),
    ("[2002:7f00:1::]", "6to4 form of 127.0.0.1, loopback"),
    ("[2002:a00:1::]", "6to4 form of 10.0.0.1, private network"),
    ("[2002:c0a8:101::]", "6to4 form of 192.168.1.1, private network"),
    ("[2002:a9fe:a9fe::]", "6to4 form of 169.254.169.254, link-local"),
    ("[2002:808:808::]", "6to4"),  # deprecated (RFC 7526), whatever it carries
    ("[2620:4f:8000::1]", "AS112 service"),
    ("[3fff::1]", "documentation"),
    ("[5f00::1]", "segment routing"),
    ("[fc00::1]", "private network"),
    ("[fd12:3456::1]", "private network"),
    ("[fe80::1]", "link-local"),
    ("[fec0::1]", "site-local"),
    ("[ff02::1]", "multicast"),
    ("[1::1]", "not public"),
    ("[4000::1]", "not public"),
]
ACCEPTED = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "100.128.0.1",  # just past shared address space
    "172.32.0.1",  # just past 172.16/12
    "192.0.3.1",
    "[2606:4700:4700::1111]",
    "[2001:4860:4860::8888]",
    "[::ffff:93.184.216.34]",  # reaches the public IPv4 address
    "[64:ff9b::808:808]",  # NAT64 of a public address: how an IPv6-only host reaches it
    "[2001:200::1]",  # just past 2001::/23
]


@pytest.mark.parametrize(("host", "kind"), REFUSED)
def test_special_purpose_addresses_are_refused(host: str, kind: str) -> None:
    with translation.override("en"), pytest.raises(AddressRefused) as refused:
        check_url(f"http://{host}/hook", allow_private=False)
    assert f"a {kind} address: refused" in str(refused.value)


@pytest.mark.parametrize("host", ACCEPTED)
def test_public_addresses_are_accepted(host: str) -> None:
    target = check_url(f"https://{host}/hook", allow_private=False)
    assert [ipaddress.ip_address(a) for a in target.addresses] == [
        ipaddress.ip_address(host.strip("[]"))
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("reference")
@pytest.mark.parametrize(
    "url", ["http://[2002:7f00:1::]/", "http://192.0.0.8/", "http://[64:ff9b::a00:1]/"]
)
def test_the_endpoint_is_refused_when_created(subscription: Subscription, url: str) -> None:
    with translation.override("en"), pytest.raises(AddressRefused):
        endpoint_create(subscription, url, allow_private=False, user=None)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("reference")
@pytest.mark.parametrize("answer", ["2002:7f00:1::", "64:ff9b::7f00:1", "192.0.0.8"])
def test_a_name_that_resolves_to_a_special_address_later_is_refused_at_send_time(
    subscription: Subscription,
    receivers: Callable[..., Receiver],
    monkeypatch: Any,
    answer: str,
) -> None:
    receiver = receivers()
    port = receiver.server.server_address[1]
    answers = {"hooks.example.org": "93.184.216.34"}
    real = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    endpoint_create(
        subscription, f"http://hooks.example.org:{port}/x", allow_private=False, user=None
    )
    answers["hooks.example.org"] = answer  # DNS now points at a special address
    publish_names(1)

    with translation.override("en"):
        worker(Clock(timezone.now())).drain()

    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert f"resolves to {answer}, a " in delivery.last_error
