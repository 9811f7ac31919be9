"""Moved to ``renfang.core.api.powers``; kept for ``linkage/api.py`` until it imports from
there (ADR 0029). Nothing else should import this module."""

from renfang.core.api.powers import access_with_power

__all__ = ["access_with_power"]
