"""The department systems of the synthetic district, one module each."""

from __future__ import annotations

from renfang.synth.extracts.department import Department
from renfang.synth.extracts.departments.civil_affairs import CivilAffairs
from renfang.synth.extracts.departments.education import Education
from renfang.synth.extracts.departments.family_planning import FamilyPlanning
from renfang.synth.extracts.departments.health import Health
from renfang.synth.extracts.departments.hrss import HumanResources
from renfang.synth.extracts.departments.police import Police
from renfang.synth.extracts.departments.residence_permit import ResidencePermits

DEPARTMENTS: tuple[type[Department], ...] = (
    Police,
    CivilAffairs,
    FamilyPlanning,
    HumanResources,
    Health,
    Education,
    ResidencePermits,
)
