"""Standard Webhooks signing (https://www.standardwebhooks.com, symmetric scheme ``v1``).

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the signature is
``v1,`` + base64(HMAC-SHA256(secret bytes, content)); the secret is shown to the receiver as
``whsec_`` + base64 of its bytes. Written here (twenty lines) rather than taken from the
``standardwebhooks`` package, which brings httpx, attrs, dateutil, Deprecated and stub
packages as unpinned runtime dependencies for the same twenty lines; the test checks these
against the specification's published test vector.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification asks for 24 to 64 random bytes
TOLERANCE_SECONDS = 5 * 60  # how far a receiver accepts a timestamp from its own clock


class SignatureError(ValueError):
    """A webhook whose headers do not prove that it came from the holder of the secret."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_bytes(secret: str) -> bytes:
    """The key behind a ``whsec_…`` secret (the prefix is optional, as in the spec's libraries)."""
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as error:
        raise SignatureError("the secret is not base64 after its whsec_ prefix") from error


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header's value for one attempt."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one attempt; the id is the same on every attempt, the timestamp
    is the attempt's (a receiver refuses old ones: a replay)."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }


def verify(
    secret: str, received: Mapping[str, str], body: bytes, *, now: int | None = None
) -> None:
    """Check a received webhook as a receiver should: a signature of the secret's among the
    space-separated ones, over this very body, with a recent timestamp. Raises
    ``SignatureError``; ``now`` (unix seconds) skips the clock check when None."""
    lowered = {name.lower(): value for name, value in received.items()}
    webhook_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    given = lowered.get("webhook-signature", "")
    if not (webhook_id and stamp and given):
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature are required")
    if not stamp.isdigit():
        raise SignatureError("webhook-timestamp is not a unix time in seconds")
    if now is not None and abs(now - int(stamp)) > TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is too far from now (a replay?)")
    expected = sign(secret, webhook_id, int(stamp), body).encode()
    for candidate in given.split(" "):
        if hmac.compare_digest(candidate.encode(), expected):
            return
    raise SignatureError("no signature matches")
