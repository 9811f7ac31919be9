"""Moved to ``renfang.core.api.pagination``; kept for ``linkage/api.py`` until it imports from
there (ADR 0029). Nothing else should import this module."""

from renfang.core.api.pagination import PageOut, PageQuery, paginate

__all__ = ["PageOut", "PageQuery", "paginate"]
