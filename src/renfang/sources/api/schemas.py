"""What the sources API takes and answers."""

from __future__ import annotations

import datetime

from ninja import Field, Schema

from renfang.core.api.pagination import PageOut, PageQuery


class ImportOut(Schema):
    id: int
    file_name: str
    file_sha256: str
    status: str = Field(description="running, done or refused.")
    started_at: datetime.datetime
    finished_at: datetime.datetime | None
    actor: str
    mapping_version: int | None
    records: int = Field(description="Records read from the file.")
    new: int
    changed: int
    unchanged: int
    flagged: int = Field(description="Records kept with a field that could not be read.")


class ProblemOut(Schema):
    record_id: str = Field(description="The record's id in the source (identifiers masked).")
    line: str
    field: str
    value: str = Field(description="The value that could not be read (identifiers masked).")
    reason: str


class ReportedCodeOut(Schema):
    field: str
    value: str
    records: int


class RefusalOut(Schema):
    line: str
    column: str
    reason: str


class ImportDetailOut(ImportOut):
    message: str = Field(description="Why the file was refused; empty otherwise.")
    errors: list[RefusalOut] = Field(description="A refused file's errors, line by line.")
    problems: list[ProblemOut] = Field(description="The first problems, by record and field.")
    unmapped: list[ReportedCodeOut]


class SourceOut(Schema):
    code: str
    name: str
    mapping_version: int | None = Field(description="The current mapping's version.")
    records: int
    unmapped_codes: int
    last_import: ImportOut | None


class SourcePageOut(PageOut):
    results: list[SourceOut]


class MappingOut(Schema):
    version: int
    created_at: datetime.datetime
    created_by: str
    text: str = Field(description="The mapping file (YAML) as written.")


class SourceDetailOut(SourceOut):
    mappings: list[MappingOut] = Field(description="Every version, newest first.")
    imports: list[ImportDetailOut] = Field(description="Every import, newest first.")


class UnmappedCodeOut(Schema):
    source: str
    source_name: str
    field: str
    value: str
    records: int = Field(description="Records that carry the value now.")
    first_seen: datetime.datetime
    last_seen: datetime.datetime


class UnmappedCodePageOut(PageOut):
    results: list[UnmappedCodeOut]


class UnmappedCodeSentOut(Schema):
    field: str
    value: str


class PublishedOut(Schema):
    record_id: str
    status: str = Field(
        description="new, changed, or unchanged (the record as it was: nothing was written). "
        "The status of the source's record: no person is named (a record that would change a "
        "person outside your areas is held for review and answered the same way)."
    )
    unmapped: list[UnmappedCodeSentOut] = Field(
        description="Codes in the record that no code table knows: kept, and reported."
    )


class HeldRecordOut(Schema):
    id: int
    record_id: str = Field(description="The record's id in the source (identifiers masked).")
    person: int = Field(description="The person it would change (one you read).")
    publisher: str = Field(description="Who sent it.")
    received_at: datetime.datetime
    fields: list[str] = Field(description="The fields it sets (values not shown here).")


class HeldRecordPageOut(PageOut):
    results: list[HeldRecordOut]


class UnmappedQuery(PageQuery):
    source: str | None = Field(
        default=None, pattern=r"^[-a-zA-Z0-9_]{1,40}$", description="Only this source's codes."
    )


class HeldDecisionIn(Schema):
    apply: bool = Field(description="true: apply the record now; false: reject it.")


class HeldDecisionOut(Schema):
    id: int
    applied: bool
    status: str = Field(description="The record's status when applied; empty when rejected.")
