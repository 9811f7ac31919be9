"""Pushing a subscription's events to its webhook endpoint (Standard Webhooks), ADR 0016.

- ``signing``: the secret, the signature and the headers (``webhook-id``, ``-timestamp``,
  ``-signature``), and their verification for receivers and tests.
- ``addresses``: which addresses may be called (no private networks unless allowed).
- ``sending``: one HTTP POST to an address already checked, no redirects followed.
- ``services``: the writes: endpoints, planning deliveries, recording attempts, retries,
  dead letters and resending them.
- ``worker``: the loop behind ``renfang worker``: plan, claim, send, record.
"""


class WebhookError(ValueError):
    """A webhook write refused as asked (an address, a state); the message says why."""
