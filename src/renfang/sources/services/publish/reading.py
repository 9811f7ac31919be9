"""A published record read as a file import reads one line: the record as a row of a JSON Lines
file (plain values only), read by the source's current mapping (``_incoming``); a value that
cannot be read refuses it. And the unmapped codes a stored record carries (``_unmapped_of``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from renfang.sources.mapping import UNMAPPED, MappingError, parse_mapping
from renfang.sources.models import Source
from renfang.sources.readers import cell_text
from renfang.sources.services.publish.outcomes import PublishRefused
from renfang.sources.services.store import IncomingRecord

_RECORD_ID_LENGTH = 200  # SourceRecord.record_id
_VALUE_LENGTH = 200  # UnmappedCode.value
# How many columns one record may have: a record, not a file.
MAX_COLUMNS = 200


def _row(values: Mapping[str, Any]) -> dict[str, str]:
    """The record as a row of a JSON Lines file: plain values as text, empty ones left out."""
    problems: list[tuple[str, str]] = []
    if len(values) > MAX_COLUMNS:
        problems.append(("-", _("more than %(n)d columns in one record") % {"n": MAX_COLUMNS}))
    row: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, dict | list):
            problems.append((str(key), _("a nested value: a record holds plain values only")))
            continue
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else cell_text(value)
        if text:
            row[str(key)] = text
    if problems:
        raise PublishRefused(problems)
    return row


def _incoming(source: Source, values: Mapping[str, Any]) -> IncomingRecord:
    mapping = source.current_mapping()
    if mapping is None:
        raise PublishRefused([("-", _("source %(code)s has no mapping") % {"code": source.code})])
    try:
        spec = parse_mapping(mapping.text)
    except MappingError as exc:
        raise PublishRefused(
            ("-", _("mapping version %(version)d: %(problem)s") % {
                "version": mapping.version, "problem": problem})
            for problem in exc.problems
        ) from exc  # fmt: skip
    row = _row(values)
    record_id, mapped, problems, unmapped = spec.apply(row)
    refusals: list[tuple[str, str]] = []
    if not record_id:
        columns = ", ".join(spec.record_id.columns)
        refusals.append(("record_id", _("no record id: %(columns)s empty") % {"columns": columns}))
    elif len(record_id) > _RECORD_ID_LENGTH:
        refusals.append(
            (
                "record_id",
                _("the record id has more than %(n)d characters") % {"n": _RECORD_ID_LENGTH},
            )
        )
    refusals += [(str(problem["field"]), str(problem["reason"])) for problem in problems]
    if refusals:
        raise PublishRefused(refusals)
    kept: list[dict[str, Any]] = [
        {
            "field": name,
            "value": value,
            "reason": _("%(value)r is not a code of %(field)s") % {"value": value, "field": name},
            "kind": UNMAPPED,
        }
        for name, value in dict.fromkeys(unmapped)
    ]
    return IncomingRecord(record_id, row, mapped, kept)


def _unmapped_of(problems: Any) -> set[tuple[str, str]]:
    if not isinstance(problems, list):
        return set()
    return {
        (str(p.get("field")), str(p.get("value"))[:_VALUE_LENGTH])
        for p in problems
        if isinstance(p, dict) and p.get("kind") == UNMAPPED
    }
