"""Registering sources and versioning their mappings."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from renfang.audit.context import os_user
from renfang.audit.models import Action
from renfang.audit.services import SYSTEM, User, audit_record
from renfang.people.golden.policy import golden_policy
from renfang.sources.mapping import MappingError, MappingProblem, parse_mapping
from renfang.sources.models import REGISTER_SOURCE, Mapping, Source

_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class SourceError(ValueError):
    """A source that cannot be added or changed as asked; the message says why."""


def actor_name(actor: User | None) -> str:
    if actor is not None and actor.is_authenticated:
        return str(actor.get_username())
    return os_user() or SYSTEM


def audit_write(
    actor: User | None, record_type: str, record_id: str | int, detail: dict[str, Any]
) -> None:
    audit_record(
        Action.WRITE,
        user=actor,
        username=SYSTEM if actor is None else "",
        record_type=record_type,
        record_id=record_id,
        detail={**detail, "os_user": os_user()} if actor is None else detail,
    )


# Words that the pages put where a source's code goes (/sources/unmapped/): a source with such
# a code could never be opened.
RESERVED_CODES = frozenset({"unmapped", "new", "export", "records"})


def history_sources() -> frozenset[str]:
    """The codes of the sources whose records carry people's histories of residence and
    hukou: ``register`` (renfang's own register) and every source golden.toml's ``[history]``
    names. Their records write a person's residences and hukou over time, so only renfang's
    own import writes them (``renfang register import``): no department file, no publisher,
    and nobody registers such a source by hand (ADR 0033)."""
    return golden_policy().history_sources() | {REGISTER_SOURCE}


def history_import_refused(code: str) -> str:
    return _(
        "source %(code)s keeps people's residence and hukou history (golden.toml, [history]): "
        "only renfang register import writes a history source, never a department's file"
    ) % {"code": code}


def history_publish_refused(code: str) -> str:
    return _(
        "source %(code)s keeps people's residence and hukou history (golden.toml, [history]): "
        "only renfang register import writes a history source; no system publishes to it"
    ) % {"code": code}


def source_add(code: str, name: str, mapping_text: str, *, actor: User | None) -> Source:
    """Register a department system with its first mapping. Raises MappingError for a mapping
    that cannot be used, SourceError for a code that is taken or malformed, or that of a
    source keeping people's history (``history_sources``: renfang registers it itself)."""
    if code.strip() in history_sources():
        raise SourceError(
            _(
                "source %(code)s keeps people's residence and hukou history (golden.toml, "
                "[history]): only renfang register import writes a history source, and it "
                "registers the source itself; it cannot be added by hand"
            )
            % {"code": code.strip()}
        )
    return _source_add(code, name, mapping_text, actor=actor)


def history_source_add(code: str, name: str, mapping_text: str, *, actor: User | None) -> Source:
    """Register a source that keeps people's history, as renfang's own import of it does the
    first time it is needed (``register_source``): the one way to add such a code."""
    if code not in history_sources():
        raise SourceError(f"{code!r} is not a source of people's history (golden.toml [history])")
    return _source_add(code, name, mapping_text, actor=actor)


def _source_add(code: str, name: str, mapping_text: str, *, actor: User | None) -> Source:
    code, name = code.strip(), name.strip()
    if not _CODE.fullmatch(code):
        raise SourceError(
            _(
                "source code %(code)r: lowercase letters, digits, _ and -, starting with a letter, "
                "at most 40"
            )
            % {"code": code}
        )
    if code in RESERVED_CODES:
        raise SourceError(
            _("source code %(code)s is a word of renfang's own addresses; choose another")
            % {"code": code}
        )
    if not name:
        raise SourceError(_("a source needs a name"))
    if len(name) > 200:
        raise SourceError(_("a source name has at most 200 characters"))
    parse_mapping(mapping_text)
    with transaction.atomic():
        if Source.objects.filter(code=code).exists():
            raise SourceError(_("there is already a source %(code)s") % {"code": code})
        source = Source.objects.create(code=code, name=name)
        Mapping.objects.create(
            source=source, version=1, text=mapping_text, created_by=actor_name(actor)
        )
        audit_write(actor, "source", code, {"action": "source added", "name": name, "mapping": 1})
    return source


def mapping_update(source: Source, text: str, *, actor: User | None) -> Mapping:
    """A new version of the source's mapping; the current one when the text is unchanged.
    Raises MappingError for a mapping that cannot be used (nothing is saved), and for a source
    that keeps people's history: renfang reads its files itself, and its mapping only
    documents the record it keeps (ADR 0033)."""
    if source.code in history_sources():
        raise MappingError(
            [
                MappingProblem(
                    0,
                    "",
                    _(
                        "source %(code)s keeps people's residence and hukou history: renfang "
                        "reads its files itself (renfang register import), and its mapping "
                        "only documents the record it keeps; it has no other version"
                    )
                    % {"code": source.code},
                )
            ]
        )
    parse_mapping(text)
    with transaction.atomic():
        Source.objects.select_for_update().filter(pk=source.pk).first()
        current = source.current_mapping()
        if current is not None and current.text.strip() == text.strip():
            return current
        version = current.version + 1 if current is not None else 1
        mapping = Mapping.objects.create(
            source=source, version=version, text=text, created_by=actor_name(actor)
        )
        audit_write(actor, "source", source.code, {"action": "mapping changed", "mapping": version})
    return mapping
