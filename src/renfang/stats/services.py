"""Writes to the pre-counted statistics tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction

from renfang.people.categories import is_overseas
from renfang.people.models import Hukou, Person, Residence
from renfang.stats.models import PopulationSpell
from renfang.stats.spells import Interval, build_spells

_CHUNK = 2000


def population_spells_refresh(*, person_ids: Iterable[int]) -> int:
    """Rebuild the population spells of these people from their current facts.

    Returns the number of spells written. Runs in the caller's transaction, or its own.
    """
    ids = sorted(set(person_ids))
    written = 0
    with transaction.atomic():
        for offset in range(0, len(ids), _CHUNK):
            chunk = ids[offset : offset + _CHUNK]
            residences: dict[int, list[Interval]] = defaultdict(list)
            hukous: dict[int, list[Interval]] = defaultdict(list)
            for person_id, start, end, division in Residence.objects.filter(
                person_id__in=chunk
            ).values_list("person_id", "valid_from", "valid_to", "division"):
                residences[person_id].append(Interval(start, end, division or None))
            for person_id, start, end, division in Hukou.objects.filter(
                person_id__in=chunk
            ).values_list("person_id", "valid_from", "valid_to", "division"):
                hukous[person_id].append(Interval(start, end, division or None))
            overseas = {
                person_id: is_overseas(id_type, nationality)
                for person_id, id_type, nationality in Person.objects.filter(
                    id__in=chunk
                ).values_list("id", "id_type", "nationality")
            }
            PopulationSpell.objects.filter(person_id__in=chunk).delete()
            rows = [
                PopulationSpell(
                    person_id=person_id,
                    valid_from=spell.valid_from,
                    valid_to=spell.valid_to,
                    residence_division=spell.residence_division,
                    hukou_division=spell.hukou_division,
                    overseas=overseas[person_id],
                )
                for person_id in chunk
                if person_id in overseas
                for spell in build_spells(
                    sorted(residences[person_id], key=_start_key),
                    sorted(hukous[person_id], key=_start_key),
                )
            ]
            PopulationSpell.objects.bulk_create(rows, batch_size=1000)
            written += len(rows)
    return written


def _start_key(interval: Interval) -> tuple[int, str]:
    return (interval.start.toordinal() if interval.start else 0, interval.division or "")
