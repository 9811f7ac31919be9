"""Pages of a list: ``page`` (from 1) and ``page_size`` (at most 200), and the total count.

The count is of the records the user may see: every list is built on a scoped selector, so a
count never reveals records of another area.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from ninja import Field, Schema

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

T = TypeVar("T")


class PageQuery(Schema):
    page: int = Field(default=1, ge=1, description="Page number, from 1.")
    page_size: int = Field(
        default=DEFAULT_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"Records per page, 1 to {MAX_PAGE_SIZE}.",
    )


class PageOut(Schema):
    """A page of a list; ``results`` is declared by each list."""

    count: int = Field(description="How many records the whole list has (that you may see).")
    page: int
    page_size: int
    pages: int = Field(description="How many pages the list has (0 when it is empty).")


@dataclass(frozen=True)
class Paged(Generic[T]):
    count: int
    page: int
    page_size: int
    rows: Sequence[T]

    @property
    def pages(self) -> int:
        return -(-self.count // self.page_size)

    def meta(self) -> dict[str, int]:
        return {
            "count": self.count,
            "page": self.page,
            "page_size": self.page_size,
            "pages": self.pages,
        }


def paginate(rows: QuerySet[Any], query: PageQuery) -> Paged[Any]:
    """One page of an ordered queryset; a page past the end is empty (with the count)."""
    count = rows.count()
    offset = (query.page - 1) * query.page_size
    page_rows = list(rows[offset : offset + query.page_size]) if offset < count else []
    return Paged(count=count, page=query.page, page_size=query.page_size, rows=page_rows)


def paginate_list(rows: Sequence[T], query: PageQuery) -> Paged[T]:
    offset = (query.page - 1) * query.page_size
    return Paged(
        count=len(rows),
        page=query.page,
        page_size=query.page_size,
        rows=rows[offset : offset + query.page_size],
    )
