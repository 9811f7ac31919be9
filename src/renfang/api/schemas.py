"""Moved to ``renfang.core.api.schemas``; kept for ``linkage/api.py`` until it imports from
there (ADR 0029). Nothing else should import this module."""

from renfang.core.api.schemas import TEXT_PATTERN

__all__ = ["TEXT_PATTERN"]
