"""The one door (人口信息唯一入口, ARCHITECTURE.md, ADR 0024): the only code that creates,
changes, merges or retracts persons and their time-valid facts (identity and its revisions,
residences, hukou, phones and other attributes, tags), rebuilds their population spells, and
records each change: the audit event and the change feed's event, in the same transaction.

Everything that enters renfang is a source record first; linkage decides who it is; the
golden refresh (``renfang.people.golden``) plans what the person's record becomes; the door
writes it. The tables behind the door (``GUARDED``) are locked (``renfang.core.writeguard``):
a write from anywhere else raises ``DoorClosed``, and the test suite runs with the lock on.

- ``record``: one person or one fact at a time, audited (forms, a test's world);
- ``golden``: a golden refresh's planned chunk, in bulk;
- ``persons``: persons made in bulk or before anyone knows who they are (resolve, a
  register import's new persons, splits, published records);
- ``moves``: merges (facts, conflicts and spells follow the survivor, overlaps undone,
  audited and told);
- ``spells``: population spells, rebuilt one way;
- ``tables``, ``columns``: the bulk updates and column lists they share.
"""

from renfang.core import writeguard
from renfang.people.facts.golden import AUDIT_SOURCE, golden_write
from renfang.people.facts.moves import Merged, persons_merge
from renfang.people.facts.persons import (
    person_placeholder,
    persons_analysed,
    persons_insert,
    persons_loading,
    persons_reserve,
)
from renfang.people.facts.record import (
    attribute_record,
    hukou_record,
    person_create,
    residence_record,
    tag_record,
)
from renfang.people.facts.spells import spells_rebuild_for
from renfang.people.models import (
    Hukou,
    IdentityRevision,
    Person,
    PersonAttribute,
    PersonTag,
    Residence,
)
from renfang.stats.models import PopulationSpell

GUARDED = tuple(
    model._meta.db_table
    for model in (
        Person,
        IdentityRevision,
        Residence,
        Hukou,
        PersonAttribute,
        PersonTag,
        PopulationSpell,
    )
)
writeguard.guard(*GUARDED)

__all__ = [
    "AUDIT_SOURCE",
    "GUARDED",
    "Merged",
    "attribute_record",
    "golden_write",
    "hukou_record",
    "person_create",
    "person_placeholder",
    "persons_loading",
    "persons_reserve",
    "persons_analysed",
    "persons_insert",
    "persons_merge",
    "residence_record",
    "spells_rebuild_for",
    "tag_record",
]
