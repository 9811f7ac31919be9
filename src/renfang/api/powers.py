"""Moved to ``renfang.accounts.powers`` (one check for pages and API); kept for
``linkage/api.py`` until it imports from there (ADR 0029). Nothing else should import this."""

from renfang.accounts.powers import access_with_power

__all__ = ["access_with_power"]
