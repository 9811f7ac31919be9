"""Which addresses a webhook may call (server-side request forgery, 服务端请求伪造).

An endpoint's address is checked when it is created and again before every attempt (a name
may resolve elsewhere tomorrow): http or https only, and every address the host resolves to
must be public, unless the district administrator allowed private networks for this
endpoint. The attempt then connects to an address checked here, not to the name again, so a
name cannot resolve to a public address for the check and a private one for the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from renfang.exchange.webhooks import WebhookError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(WebhookError):
    """An address a webhook may not be sent to; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked address: where to connect, and what to name in the request."""

    scheme: str
    host: str  # as written (the Host header, and the name TLS checks the certificate for)
    port: int
    path: str  # with its query
    addresses: tuple[str, ...]  # the IP addresses checked, to connect to in this order


# The IANA IPv4 and IPv6 special-purpose address registries (RFC 6890 and its updates: RFC
# 7526, 8155, 8190, 9374, 9602, 9637, 9780), and multicast, as our own table: what a webhook
# may call does not depend on which Python's ``ipaddress`` flags run it. Every range here is
# refused; an IPv6 address outside global unicast (2000::/3) is refused too. Labels that name
# an address kind are looked up by ``_kind``; the gettext_noop keeps them in the catalogue.
_SPECIAL_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/32", gettext_noop("unspecified")),
    ("0.0.0.0/8", gettext_noop("this network")),
    ("10.0.0.0/8", gettext_noop("private network")),
    ("100.64.0.0/10", gettext_noop("shared address space")),
    ("127.0.0.0/8", gettext_noop("loopback")),
    ("169.254.0.0/16", gettext_noop("link-local")),
    ("172.16.0.0/12", gettext_noop("private network")),
    ("192.0.0.0/24", gettext_noop("IETF protocol assignment")),
    ("192.0.2.0/24", gettext_noop("documentation")),
    ("192.31.196.0/24", gettext_noop("AS112 service")),
    ("192.52.193.0/24", gettext_noop("AMT relay")),
    ("192.88.99.0/24", gettext_noop("6to4 relay anycast")),
    ("192.168.0.0/16", gettext_noop("private network")),
    ("192.175.48.0/24", gettext_noop("AS112 service")),
    ("198.18.0.0/15", gettext_noop("benchmarking")),
    ("198.51.100.0/24", gettext_noop("documentation")),
    ("203.0.113.0/24", gettext_noop("documentation")),
    ("224.0.0.0/4", gettext_noop("multicast")),
    ("255.255.255.255/32", gettext_noop("broadcast")),
    ("240.0.0.0/4", gettext_noop("reserved")),
)
_SPECIAL_V6: tuple[tuple[str, str], ...] = (
    ("::/128", gettext_noop("unspecified")),
    ("::1/128", gettext_noop("loopback")),
    ("::ffff:0:0/96", gettext_noop("IPv4-mapped")),
    ("::/96", gettext_noop("IPv4-compatible")),
    ("64:ff9b::/96", gettext_noop("NAT64")),
    ("64:ff9b:1::/48", gettext_noop("local-use NAT64")),
    ("100::/64", gettext_noop("discard-only")),
    ("100:0:0:1::/64", gettext_noop("dummy prefix")),
    ("2001::/32", gettext_noop("Teredo")),
    ("2001::/23", gettext_noop("IETF protocol assignment")),
    ("2001:db8::/32", gettext_noop("documentation")),
    ("2002::/16", gettext_noop("6to4")),
    ("2620:4f:8000::/48", gettext_noop("AS112 service")),
    ("3fff::/20", gettext_noop("documentation")),
    ("5f00::/16", gettext_noop("segment routing")),
    ("fc00::/7", gettext_noop("private network")),  # unique local
    ("fe80::/10", gettext_noop("link-local")),
    ("fec0::/10", gettext_noop("site-local")),
    ("ff00::/8", gettext_noop("multicast")),
)
_V4 = tuple((ipaddress.IPv4Network(net), label) for net, label in _SPECIAL_V4)
_V6 = tuple((ipaddress.IPv6Network(net), label) for net, label in _SPECIAL_V6)
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_HIGH = int(_NAT64.network_address) >> 32


def _embedded(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: IPv4-mapped, IPv4-compatible and NAT64
    (RFC 6052, the /96 form) in the last 32 bits, 6to4 in bits 16-48, and Teredo (the
    client's address, the last 32 bits inverted)."""
    value = int(ip)
    high = value >> 32
    if high in {0xFFFF, _NAT64_HIGH} or (high == 0 and value > 1):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 112 == 0x2002:
        return ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)
    if value >> 96 == 0x20010000:
        return ipaddress.IPv4Address(~value & 0xFFFFFFFF)
    return None


def _kind_v4(ip: ipaddress.IPv4Address) -> str | None:
    return next((label for network, label in _V4 if ip in network), None)


def _kind(ip: IPAddress) -> str | None:
    """What makes an address non-public (translated), or None for a public one."""
    if isinstance(ip, ipaddress.IPv4Address):
        kind = _kind_v4(ip)
        return None if kind is None else _(kind)
    embedded = _embedded(ip)
    inner = _kind_v4(embedded) if embedded is not None else None
    if ip in _MAPPED or ip in _NAT64:
        # Connecting to these reaches the IPv4 address inside: it decides.
        if embedded is not None and inner is None:
            return None
    kind = next((label for network, label in _V6 if ip in network), None)
    if kind is None and ip not in _GLOBAL_UNICAST:
        kind = gettext_noop("not public")
    if kind is None:
        return None
    if embedded is not None and inner is not None:
        return _("%(kind)s form of %(address)s, %(inner)s") % {
            "kind": _(kind),
            "address": embedded,
            "inner": _(inner),
        }
    return _(kind)


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        return (str(ipaddress.ip_address(host.strip("[]"))),)
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise AddressRefused(
            # The system's own words (errno, English) are no help on a Chinese page.
            _(
                "the host name %(host)s does not resolve: check the address, or ask whoever "
                "runs the server to check its name service"
            )
            % {"host": host}
        ) from error
    # getaddrinfo's order is the system's preference; keep it, without repeats.
    return tuple(dict.fromkeys(str(info[4][0]).split("%")[0] for info in found))


def check_url(url: str, *, allow_private: bool) -> Target:
    """The address ``url`` names, checked; raises ``AddressRefused`` saying why not."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise AddressRefused(_("%(url)s is not a valid address") % {"url": url}) from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise AddressRefused(
            _("%(url)s: only http and https addresses can receive webhooks") % {"url": url}
        )
    if not parts.hostname:
        raise AddressRefused(_("%(url)s has no host") % {"url": url})
    if parts.username is not None or parts.password is not None:
        raise AddressRefused(
            _("%(url)s: a user name or password inside the address is not supported") % {"url": url}
        )
    port = port or (443 if scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    if not allow_private:
        for address in addresses:
            kind = _kind(ipaddress.ip_address(address))
            if kind is not None:
                raise AddressRefused(
                    _(
                        "%(url)s resolves to %(address)s, a %(kind)s address: refused unless "
                        "the district administrator allows private networks for this endpoint"
                    )
                    % {"url": url, "address": address, "kind": kind}
                )
    return Target(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        addresses=addresses,
    )
