"""The audit key: a secret the database does not hold (ADR 0019).

Every event's hash is an HMAC-SHA-256 under a key derived from it, so whoever holds the
database alone cannot write an event, re-hash a rewritten chain or move the chain's head:
``renfang audit verify`` recomputes the HMACs. The same key signs the anchors (heads copied
out of the database), opens the PostgreSQL purge gate, and makes the short fingerprints the
auditor sees instead of identifiers (ADR 0018).

The key comes from ``RENFANG_AUDIT_KEY_FILE`` (the ``*_FILE`` secret convention). Without it,
outside production, a key is generated once in ``RENFANG_AUDIT_KEY_DIR`` so that ``make run``
and the tests work out of the box; in production a missing key file is a system check error.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

DEV_KEY_NAME = "renfang-audit.key"
ANCHORS_NAME = "renfang-audit-anchors.jsonl"
_MINIMUM_BYTES = 32


def key_path() -> Path:
    configured = str(getattr(settings, "RENFANG_AUDIT_KEY_FILE", "") or "")
    if configured:
        return Path(configured)
    if settings.PRODUCTION:
        raise ImproperlyConfigured("RENFANG_AUDIT_KEY_FILE must name the audit key in production")
    return Path(str(settings.RENFANG_AUDIT_KEY_DIR)) / DEV_KEY_NAME


def anchors_path() -> Path:
    configured = str(getattr(settings, "RENFANG_AUDIT_ANCHOR_FILE", "") or "")
    if configured:
        return Path(configured)
    return key_path().with_name(ANCHORS_NAME)


def _generate(path: Path) -> None:
    """A new development key, written once (a second process finds it there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(handle, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32) + "\n")


@functools.cache
def _load(path: str, generate: bool) -> bytes:
    file = Path(path)
    if generate and not file.exists():
        _generate(file)
    try:
        key = file.read_bytes().strip()
    except OSError as error:
        raise ImproperlyConfigured(f"the audit key file {file} cannot be read: {error}") from None
    if len(key) < _MINIMUM_BYTES:
        raise ImproperlyConfigured(
            f"the audit key in {file} is too short: at least {_MINIMUM_BYTES} bytes"
        )
    return key


_current: dict[str, bytes] = {}  # the key in use, and its derived keys by purpose


def audit_key() -> bytes:
    key = _current.get("")
    if key is None:
        configured = bool(getattr(settings, "RENFANG_AUDIT_KEY_FILE", ""))
        key = _current.setdefault("", _load(str(key_path()), not configured))
    return key


def forget_key(**kwargs: object) -> None:
    """Read the key again next time (a test that changes the key file or its settings)."""
    _current.clear()
    _load.cache_clear()


@receiver(setting_changed)
def _settings_changed(setting: str = "", **kwargs: object) -> None:
    if setting.startswith("RENFANG_AUDIT_KEY") or setting == "PRODUCTION":
        forget_key()


def derived_key(purpose: str) -> bytes:
    """A key for one use ("chain", "head", "anchor", "purge", "fingerprint"): one use's
    key says nothing about another's. (Cached: every audited request hashes with it.)"""
    key = _current.get(purpose)
    if key is None:
        derived = hmac.new(audit_key(), f"renfang audit {purpose}".encode(), hashlib.sha256)
        key = _current.setdefault(purpose, derived.digest())
    return key


def key_id() -> str:
    """Which key: a short digest that names it without revealing it."""
    return hashlib.sha256(derived_key("id")).hexdigest()[:16]


def sign(purpose: str, message: str | bytes) -> str:
    """HMAC-SHA-256 of the message under the purpose's key, in hex (one-shot, in C: every
    audited request signs twice)."""
    data = message.encode() if isinstance(message, str) else message
    return hmac.digest(derived_key(purpose), data, "sha256").hex()


def purge_token() -> str:
    """What the purge hands PostgreSQL's trigger to be let through; the trigger knows only
    its SHA-256, a plain client neither."""
    return sign("purge", "open the purge gate")


def purge_token_digest() -> str:
    return hashlib.sha256(purge_token().encode()).hexdigest()
