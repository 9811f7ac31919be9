"""The client's address: the one function every record of an address uses (the audit log's
``ip``, the lock-out of django-axes). Behind a reverse proxy every request comes from the
proxy's address; the proxy names the client in a header (``X-Forwarded-For``), which anyone
can also send. So the header is read only when the request comes from a configured trusted
proxy (``RENFANG_TRUSTED_PROXIES``: addresses or networks), and of its comma-separated list the
right-most address that is not itself a trusted proxy is the client: what lies to its left was
written by the client and proves nothing (ADR 0020)."""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(text: str | list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    """``"10.0.0.1, 172.16.0.0/12"`` → networks; ``ValueError`` names a wrong entry."""
    entries = text.split(",") if isinstance(text, str) else list(text)
    networks: list[Network] = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


@cache
def _trusted(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(proxies)


def _address(text: str) -> Address | None:
    text = text.strip().strip('"')
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:51234
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _is_trusted(address: Address | None, trusted: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in trusted)


def header_meta_key(header: str) -> str:
    return "HTTP_" + header.strip().upper().replace("-", "_")


def client_ip(request: HttpRequest) -> str:
    """The client's address as renfang records it (see the module's doc)."""
    peer = str(request.META.get("REMOTE_ADDR") or "")
    trusted = _trusted(tuple(getattr(settings, "RENFANG_TRUSTED_PROXIES", ())))
    if not trusted or not _is_trusted(_address(peer), trusted):
        return peer
    header = str(request.META.get(header_meta_key(settings.RENFANG_CLIENT_IP_HEADER)) or "")
    hops = [hop for hop in header.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a malformed entry: nothing to its left can be believed
        client = str(address)
        if not _is_trusted(address, trusted):
            break
    return client
