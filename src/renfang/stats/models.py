"""Pre-counted facts for statistics.

``PopulationSpell`` is derived, never typed in: for each person, the stretches of time over
which both the residence division and the hukou division stay the same. Counting the
population of any area on any date is then one scan of one narrow table instead of a join of
people, residences and hukous. ``renfang.people.facts.spells_rebuild_for`` (the one door) rebuilds a
person's spells from the golden facts whenever they change.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PopulationSpell(models.Model):
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="population_spells"
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    # Empty: whereabouts unknown on these days.
    residence_division = models.CharField(max_length=20, null=True, blank=True)
    # Empty: no hukou known.
    hukou_division = models.CharField(max_length=12, null=True, blank=True)
    # Derived from the person's identity by renfang.people.categories.is_overseas.
    overseas = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("population spell")
        verbose_name_plural = _("population spells")
        indexes = [
            models.Index(
                fields=["residence_division"],
                name="stats_spell_res_div",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["hukou_division"],
                name="stats_spell_hukou_div",
                opclasses=["varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.valid_from}–{self.valid_to or ''} {self.residence_division}"
