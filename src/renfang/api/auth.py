"""Moved to ``renfang.core.api.auth``; kept for ``linkage/api.py`` until it imports from
there (ADR 0029). Nothing else should import this module."""

from renfang.core.api.auth import acting_user

__all__ = ["acting_user"]
