"""One attempt: an HTTP POST of a signed body to a checked address.

``http.client`` from the standard library: one request, no redirects (a 3xx is a failure,
the receiver should give its new address), no connection pool, a short timeout. The
connection goes to an IP address checked by ``addresses.check_url`` while the Host header
and the TLS certificate check use the name, so the address checked is the address called.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

from renfang.exchange.webhooks.addresses import Target

USER_AGENT = "renfang-webhooks/1"
_ERROR_LENGTH = 300


@dataclass(frozen=True)
class Answer:
    """What an attempt got: an HTTP status, or an error before one (``status`` None)."""

    status: int | None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300  # noqa: PLR2004


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to a given IP address whatever ``host`` says."""

    pinned_address = ""

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection, _PinnedConnection):
    """HTTPS to a given IP address; ``HTTPSConnection.connect`` calls the pinned connect,
    then wraps the socket with the name as server_hostname (SNI and certificate check)."""


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def post(target: Target, headers: dict[str, str], body: bytes, *, timeout: float) -> Answer:
    """POST ``body`` to the first of the target's addresses that accepts a connection."""
    last_error = ""
    for address in target.addresses:
        connection: _PinnedConnection
        if target.scheme == "https":
            connection = _PinnedHTTPSConnection(
                target.host, target.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = _PinnedConnection(target.host, target.port, timeout=timeout)
        connection.pinned_address = address
        try:
            connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", _host_header(target))
            connection.putheader("User-Agent", USER_AGENT)
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(body)))
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            response.read(64 * 1024)  # a receiver's answer is not kept; read a little of it
            return Answer(status=response.status)
        except OSError as error:
            last_error = f"{address}: {type(error).__name__}: {error}"[:_ERROR_LENGTH]
            if isinstance(error, TimeoutError | ssl.SSLError) or _sent(connection):
                break  # it may have been received: do not post it to a second address now
        except http.client.HTTPException as error:
            last_error = f"{address}: {type(error).__name__}: {error}"[:_ERROR_LENGTH]
            break
        finally:
            connection.close()
    return Answer(status=None, error=last_error)


def _sent(connection: http.client.HTTPConnection) -> bool:
    return connection.sock is not None
