"""Golden records (one record per person, field by field from the authoritative source).

- ``policy``: the survivorship policy, ``data/golden.toml``, and its startup checks;
- ``values``: a source record's value for a field, and when two values agree;
- ``refresh``: ``golden_refresh`` — golden values, provenance, facts, conflicts, in bulk;
- ``facts``: the time-valid facts a golden record keeps;
- ``provenance``: ``person_provenance`` for the person page.

See docs/adr/0015-golden-records.md.
"""

from renfang.people.golden.chunks import GoldenReport, no_history_note
from renfang.people.golden.policy import GoldenPolicy, PolicyError, golden_policy, parse_policy
from renfang.people.golden.provenance import (
    FieldProvenance,
    OtherValue,
    names_sources,
    person_provenance,
)
from renfang.people.golden.refresh import golden_refresh

__all__ = [
    "FieldProvenance",
    "GoldenPolicy",
    "GoldenReport",
    "OtherValue",
    "PolicyError",
    "golden_policy",
    "golden_refresh",
    "parse_policy",
    "names_sources",
    "no_history_note",
    "person_provenance",
]
