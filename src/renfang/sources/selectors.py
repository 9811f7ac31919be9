"""Reads of sources: the list with its figures, imports, unmapped codes, a person's records.

Sources, mappings, imports and unmapped codes say nothing about any one person; the pages and
the API that show them are for those who manage sources (``manages_sources``). A person's
source records are read for a person page that has already been checked against the user's
area and audited.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, IntegerField, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from renfang.people.models import Person
from renfang.sources.models import Mapping, Source, SourceImport, SourceRecord, UnmappedCode

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class SourceFigures(TypedDict):
    record_count: int
    unmapped_count: int
    mapping_version: int | None
    last_import_id: int | None
    last_import_at: datetime.datetime | None
    last_import_status: str | None


if TYPE_CHECKING:
    ListedSource = WithAnnotations[Source, SourceFigures]


def _count_of(model: type[SourceRecord] | type[UnmappedCode]) -> Subquery:
    counted = (
        model.objects.filter(source=OuterRef("pk"))
        .order_by()
        .values("source")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(counted, output_field=IntegerField())


def sources_list() -> QuerySet[ListedSource]:
    """Every source, by code, annotated with ``record_count``, ``unmapped_count`` (distinct
    unmapped codes), ``mapping_version`` (the current one) and the last import's
    ``last_import_id``, ``last_import_at`` and ``last_import_status``."""
    last_import = SourceImport.objects.filter(source=OuterRef("pk")).order_by("-started_at", "-pk")
    return Source.objects.annotate(
        record_count=Coalesce(_count_of(SourceRecord), 0),
        unmapped_count=Coalesce(_count_of(UnmappedCode), 0),
        mapping_version=Subquery(
            Mapping.objects.filter(source=OuterRef("pk"))
            .order_by()
            .values("source")
            .annotate(v=Max("version"))
            .values("v"),
            output_field=IntegerField(),
        ),
        last_import_id=Subquery(last_import.values("pk")[:1]),
        last_import_at=Subquery(last_import.values("started_at")[:1]),
        last_import_status=Subquery(last_import.values("status")[:1]),
    ).order_by("code")


def source_get(code: str) -> ListedSource | None:
    return sources_list().filter(code=code).first()


def unmapped_codes_list(source: Source | None = None) -> QuerySet[UnmappedCode]:
    """The codes sources sent that no code table knows and no mapping maps, with how many of
    the source's records carry each: by source, field, most records first."""
    codes = UnmappedCode.objects.select_related("source")
    if source is not None:
        codes = codes.filter(source=source)
    return codes.order_by("source__code", "field", "-records", "value")


def imports_list(source: Source) -> QuerySet[SourceImport]:
    """The source's imports, latest first (refused ones too, with their reason)."""
    return (
        SourceImport.objects.filter(source=source)
        .select_related("source", "mapping")
        .order_by("-started_at", "-pk")
    )


def mappings_list(source: Source) -> QuerySet[Mapping]:
    """Every version of the source's mapping, latest first."""
    return Mapping.objects.filter(source=source).order_by("-version")


def records_of_person(person: Person) -> list[SourceRecord]:
    """The source records linked to the person, by source and record id."""
    return list(
        SourceRecord.objects.filter(person=person)
        .select_related("source")
        .order_by("source__code", "record_id")
    )
