"""Writes of sources: registering a source, versioning its mapping, importing its files, and the
bulk store of source records that file imports and the register import share (ADR 0013)."""

from renfang.sources.services.imports import source_import
from renfang.sources.services.sources import (
    SourceError,
    history_source_add,
    history_sources,
    mapping_update,
    source_add,
)
from renfang.sources.services.store import IncomingRecord, StoreResult, records_store

__all__ = [
    "IncomingRecord",
    "SourceError",
    "StoreResult",
    "history_source_add",
    "history_sources",
    "mapping_update",
    "records_store",
    "source_add",
    "source_import",
]
