"""The audit event of a write: which fields changed, from what to what."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

from renfang.audit.models import Action, AuditEvent

# ---------------------------------------------------------------- writes: field, old, new
from renfang.audit.services.chain import SYSTEM, PendingEvent, User, audit_record_many
from renfang.core.changes import FieldChange


def _plain_value(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def field_change(name: str, old: Any, new: Any) -> FieldChange:
    """One line of a write's detail: the field, its value before and after (None: there was
    none, or there is none now). Dates become ISO text, decimals text."""
    return {"field": name, "old": _plain_value(old), "new": _plain_value(new)}


def write_event(
    *,
    actor: User | None,
    record_type: str,
    record_id: str | int,
    changes: Sequence[FieldChange],
    source: str,
    changes_text: str = "",
) -> PendingEvent:
    """The audit event of a write to one record; ``actor`` None is the system (a command).
    ``changes_text``: ``changes`` as ``changes_json`` wrote them, when the caller has it (the
    detail is then given as text, not encoded again)."""
    detail_text = ""
    if changes_text and type(source) is str:
        detail_text = f'{{"changes":{changes_text},"source":{_json_text(source)}}}'
    return PendingEvent(
        action=Action.WRITE,
        user=actor,
        username=SYSTEM if actor is None else "",
        record_type=record_type,
        record_id=str(record_id),
        detail={"changes": changes, "source": source},
        detail_text=detail_text,
    )


# ---------------------------------------------------------------- the lines as canonical JSON
#
# An import writes a few lines for each of millions of persons, and both its audit events and
# its feed events carry them as JSON: rendered here once, from templates for the lines' usual
# shapes (a new person's lines in about 10 µs, the json module's encoder takes 14), exactly as
# the canonical encoder writes them (sorted keys, no spaces, strings as
# json.dumps(ensure_ascii=False) writes them); a test holds the two together. A value of
# another kind (a float, a date, a key that is not a string) makes it give up: the caller
# encodes the lines the general way.

_json_text = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses
_LINE = ("field", "old", "new")
_LINE_SOURCE = ("field", "old", "new", "source")
_CACHED = 4096  # at most so many field names, sources, dict shapes kept (there are a few)


class _Unusual(Exception):
    """A value the templates do not write."""


def _value(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _json_text(value)
    if value is None:
        return "null"
    if kind is dict:
        return _object(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is list:
        return f"[{','.join([_value(item) for item in value])}]"
    raise _Unusual


# A dict's keys in its own order → its values in the order of its sorted keys, and the
# template they go into ('{"key":%s,...}').
_Shape = tuple[Callable[[dict[str, Any]], Any], str]
_SHAPES: dict[tuple[Any, ...], _Shape] = {}


def _shape(keys: tuple[Any, ...]) -> _Shape:
    if not keys or any(type(key) is not str for key in keys):
        raise _Unusual
    ordered = sorted(keys)
    labels = ",".join(_json_text(key).replace("%", "%%") + ":%s" for key in ordered)
    values = itemgetter(*ordered)
    shape: _Shape = (
        (values if len(ordered) > 1 else lambda value: (values(value),)),
        f"{{{labels}}}",
    )
    if len(_SHAPES) < _CACHED:
        _SHAPES[keys] = shape
    return shape


def _object(value: dict[Any, Any]) -> str:
    if not value:
        return "{}"
    keys = tuple(value)
    values, template = _SHAPES.get(keys) or _shape(keys)
    return template % tuple(
        [_json_text(item) if type(item) is str else _value(item) for item in values(value)]
    )


_HEADS: dict[str, str] = {}  # a field's name → '{"field":"name","new":'
_TAILS: dict[str, str] = {}  # a source → ',"source":"source"}'


def _head(field: Any) -> str:
    head = _HEADS.get(field) if type(field) is str else None
    if head is None:
        head = f'{{"field":{_value(field)},"new":'
        if type(field) is str and len(_HEADS) < _CACHED:
            _HEADS[field] = head
    return head


def _tail(source: Any) -> str:
    tail = _TAILS.get(source) if type(source) is str else None
    if tail is None:
        tail = f',"source":{_value(source)}}}'
        if type(source) is str and len(_TAILS) < _CACHED:
            _TAILS[source] = tail
    return tail


def _line(line: FieldChange) -> str:
    field: Any
    old: Any
    new: Any
    source: Any
    keys = tuple(line)
    if keys == _LINE_SOURCE:
        field, old, new, source = line.values()
        tail = _TAILS.get(source) if type(source) is str else None
        if tail is None:
            tail = _tail(source)
    elif keys == _LINE:
        field, old, new = line.values()
        tail = "}"
    else:
        return _value(line)
    head = _HEADS.get(field) if type(field) is str else None
    if head is None:
        head = _head(field)
    kind = type(new)
    new_text = _json_text(new) if kind is str else _object(new) if kind is dict else _value(new)
    return f'{head}{new_text},"old":{"null" if old is None else _value(old)}{tail}'


def changes_json(changes: Sequence[FieldChange]) -> str | None:
    """The lines as canonical JSON text (an array: what the chain's encoder writes for
    ``list(changes)``, before the chain makes it safe for the database as it does any
    detail), or None when one holds a value this does not write."""
    try:
        return f"[{','.join([_line(line) for line in changes])}]"
    except (_Unusual, ValueError, RecursionError):  # (the general way says what is wrong)
        return None


def audit_write(
    *,
    actor: User | None,
    record_type: str,
    record_id: str | int,
    changes: Sequence[FieldChange],
    source: str,
) -> AuditEvent | None:
    """Record a write (in the caller's transaction, so the write and its audit commit
    together); nothing when nothing changed."""
    if not changes:
        return None
    event = write_event(
        actor=actor, record_type=record_type, record_id=record_id, changes=changes, source=source
    )
    built = audit_record_many([event])
    return built[0] if built else None
