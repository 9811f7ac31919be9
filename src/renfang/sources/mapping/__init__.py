"""Mapping files: how a source's columns become renfang's fields (docs/MAPPINGS.md, ADR 0013).

A mapping is YAML written by a person who knows the department's export, so every mistake in it
is reported at once, each with its line, its key and the reason, before a single record is read.
The YAML is read as nodes, not as Python values: a code written ``01`` stays ``"01"`` (not the
number 1), ``yes`` stays ``"yes"``, and every key keeps the line it was written on.

``MappingSpec.apply`` turns one row of the source into mapped values. It is called millions of
times per import, so each field's rule is prepared once here and the row work is plain lookups.
"""

from renfang.sources.mapping.fields import (
    CODE_SETS,
    DATE_FIELDS,
    DIVISION_FIELDS,
    FIELDS,
    RESIDENT_ID,
    UNMAPPED,
    UNREADABLE,
)
from renfang.sources.mapping.parser import MappingError, MappingProblem, parse_mapping
from renfang.sources.mapping.spec import Applied, FieldRule, FileOptions, MappingSpec
from renfang.sources.mapping.templates import Template, parse_template
from renfang.sources.mapping.values import Read, read_resident_id

__all__ = [
    "CODE_SETS",
    "DATE_FIELDS",
    "DIVISION_FIELDS",
    "FIELDS",
    "RESIDENT_ID",
    "UNMAPPED",
    "UNREADABLE",
    "Applied",
    "FieldRule",
    "FileOptions",
    "MappingError",
    "MappingProblem",
    "MappingSpec",
    "Read",
    "Template",
    "parse_mapping",
    "parse_template",
    "read_resident_id",
]
