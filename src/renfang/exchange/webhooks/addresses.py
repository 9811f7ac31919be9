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


def _kind(ip: IPAddress) -> str | None:
    """What makes an address non-public, or None for a public one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    kinds = (
        (ip.is_loopback, _("loopback")),
        (ip.is_link_local, _("link-local")),
        (ip.is_multicast, _("multicast")),
        (ip.is_unspecified, _("unspecified")),
        (ip.is_private, _("private network")),
        (ip.is_reserved, _("reserved")),
        (not ip.is_global, _("not public")),
    )
    return next((kind for holds, kind in kinds if holds), None)


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        return (str(ipaddress.ip_address(host.strip("[]"))),)
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise AddressRefused(
            _("the host name %(host)s does not resolve (%(error)s)")
            % {"host": host, "error": error}
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
