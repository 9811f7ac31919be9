"""The dead in no count after their death (issue 12, ADR 0028).

Before issue 12 a death ended the residence but not the hukou, so the dead counted as 空挂户
(registered here, whereabouts unknown) from the day after their death on. This rebuilds the
population spells of the dead, and only of them, ended on the day of death: the figures are
right as soon as the database is migrated. The hukou facts themselves are left as they are: the
deregistration (注销) is a change to a person, written with its audit and feed events by the
next golden refresh of the dead (``renfang golden refresh --dead``).

Uses the pure ``build_spells`` and ``is_overseas`` of today's code: both take plain values.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import migrations

from renfang.core import writeguard
from renfang.people.categories import is_overseas
from renfang.stats.spells import Interval, build_spells

_CHUNK = 2000


def _start_key(interval: Interval) -> tuple[int, str]:
    return (interval.start.toordinal() if interval.start else 0, interval.division or "")


def spells_of_the_dead(apps: Any, schema_editor: Any) -> None:
    person_model = apps.get_model("people", "Person")
    residence_model = apps.get_model("people", "Residence")
    hukou_model = apps.get_model("people", "Hukou")
    spell_model = apps.get_model("stats", "PopulationSpell")
    alias = schema_editor.connection.alias
    dead = list(
        person_model.objects.using(alias)
        .filter(death_date__isnull=False, merged_into__isnull=True)
        .order_by("id")
        .values_list("id", "death_date", "id_type", "nationality")
    )
    for offset in range(0, len(dead), _CHUNK):
        chunk = dead[offset : offset + _CHUNK]
        ids = [row[0] for row in chunk]
        facts: dict[str, dict[int, list[Interval]]] = {}
        for name, model in (("residence", residence_model), ("hukou", hukou_model)):
            found: dict[int, list[Interval]] = defaultdict(list)
            for person_id, start, end, division in (
                model.objects.using(alias)
                .filter(person_id__in=ids, retracted_at__isnull=True)
                .values_list("person_id", "valid_from", "valid_to", "division")
            ):
                found[person_id].append(Interval(start, end, division or None))
            facts[name] = found
        # Derived rows of the door's (ADR 0024), rebuilt by the door's rule: opened here, visibly.
        with writeguard.door():
            _write(spell_model, alias, ids, chunk, facts)


def _write(
    spell_model: Any,
    alias: str,
    ids: list[int],
    chunk: list[tuple[Any, ...]],
    facts: dict[str, dict[int, list[Interval]]],
) -> None:
    spell_model.objects.using(alias).filter(person_id__in=ids).delete()
    spell_model.objects.using(alias).bulk_create(
        [
            spell_model(
                person_id=person_id,
                valid_from=spell.valid_from,
                valid_to=spell.valid_to,
                residence_division=spell.residence_division,
                hukou_division=spell.hukou_division,
                overseas=is_overseas(id_type, nationality),
            )
            for person_id, died, id_type, nationality in chunk
            for spell in build_spells(
                sorted(facts["residence"][person_id], key=_start_key),
                sorted(facts["hukou"][person_id], key=_start_key),
                died=died,
            )
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0006_residence_unknown_start"),
        ("stats", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(spells_of_the_dead, migrations.RunPython.noop, elidable=True),
    ]
