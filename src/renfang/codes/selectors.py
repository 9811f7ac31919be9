"""Reads of the code sets, and names of divisions.

An import calls these for each of a million rows and every page calls them, so each set is read
once and kept in this process. The cache is emptied by ``clear_cache()``: the code and area
loaders call it, saving a Code, CodeSet or Area calls it (see ``apps.py``), and it expires
after ``CACHE_SECONDS`` so that other processes (web workers) see a load made elsewhere.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from renfang.areas.models import Area
from renfang.codes.models import Code, HistoricDivision

CACHE_SECONDS = 60.0
DIVISION_SET = "division"


@dataclass(frozen=True)
class HistoricCode:
    """What renfang knows of a county code of an earlier GB/T 2260 revision (ADR 0026)."""

    full_name: str  # 上海市南市区
    gone_in: str  # the first revision without it: YYYYMM, or YYYY
    successor: str  # the division of today that carries it on; "" when no single one does

    @property
    def label(self) -> str:
        """上海市南市区（2000年前）: the name with the year it left the standard."""
        return _("%(name)s (before %(year)s)") % {
            "name": self.full_name,
            "year": self.gone_in[:4],
        }


@dataclass(frozen=True)
class _CachedSet:
    labels: dict[str, tuple[str, str]]  # code → (name, English name); closed codes too
    active: frozenset[str]
    active_in_order: tuple[str, ...]


_lock = threading.Lock()
_sets: dict[str, _CachedSet] = {}
_division_names: dict[tuple[str, bool], str] = {}
_historic: list[dict[str, HistoricCode]] = []  # one dict once read (an empty table too)
_prefixes: list[frozenset[str]] = []
_filled_at = time.monotonic()


def clear_cache() -> None:
    """Forget every cached set and division name (after a load, and between tests)."""
    global _filled_at  # noqa: PLW0603 (the cache is module state by design)
    with _lock:
        _sets.clear()
        _division_names.clear()
        _historic.clear()
        _prefixes.clear()
        _filled_at = time.monotonic()


def _expire() -> None:
    if time.monotonic() - _filled_at > CACHE_SECONDS:
        clear_cache()


def _cached_set(code_set: str) -> _CachedSet:
    _expire()
    cached = _sets.get(code_set)
    if cached is None:
        rows = list(
            Code.objects.filter(code_set_id=code_set)
            .order_by("sort_order", "code")
            .values_list("code", "name", "name_en", "active")
        )
        cached = _CachedSet(
            labels={code: (name, name_en) for code, name, name_en, _active in rows},
            active=frozenset(code for code, _n, _e, active in rows if active),
            active_in_order=tuple(code for code, _n, _e, active in rows if active),
        )
        with _lock:
            _sets[code_set] = cached
    return cached


def _chinese() -> bool:
    language = get_language() or settings.LANGUAGE_CODE
    return language.lower().startswith("zh")


def _label(names: tuple[str, str], chinese: bool) -> str:
    name, name_en = names
    return name if chinese or not name_en else name_en


def code_label(code_set: str, code: str) -> str:
    """The label of a code in the active language (the Chinese name for zh-hans, the English one
    for en, the Chinese one when there is no English one); closed codes keep their label; the
    code itself when the set does not know it."""
    names = _cached_set(code_set).labels.get(code)
    return code if names is None else _label(names, _chinese())


def code_choices(code_set: str) -> list[tuple[str, str]]:
    """(code, label) of the active codes, in the set's order, for a form's choices."""
    cached = _cached_set(code_set)
    chinese = _chinese()
    return [(code, _label(cached.labels[code], chinese)) for code in cached.active_in_order]


def active_codes(code_set: str) -> frozenset[str]:
    """The codes a new record may use (empty when the set is not loaded)."""
    return _cached_set(code_set).active


def _area_name(code: str) -> str | None:
    """The full name of a loaded area, from the city down: 上海市徐汇区天平路街道."""
    names: list[str] = []
    area = Area.objects.filter(code=code).values_list("name", "parent_id").first()
    while area is not None:
        names.append(area[0])
        parent = area[1]
        area = (
            Area.objects.filter(code=parent).values_list("name", "parent_id").first()
            if parent
            else None
        )
    return "".join(reversed(names)) or None


def historic_divisions() -> dict[str, HistoricCode]:
    """Every county code of an earlier GB/T 2260 revision that is not a division today, by code
    (empty when the history is not loaded). Read-only: the dict is the cache itself."""
    _expire()
    with _lock:
        if _historic:
            return _historic[0]
    rows = HistoricDivision.objects.values_list("code", "full_name", "gone_in", "successor")
    loaded = {
        code: HistoricCode(name, gone_in, successor) for code, name, gone_in, successor in rows
    }
    with _lock:
        _historic[:] = [loaded]
    return loaded


def division_prefixes() -> frozenset[str]:
    """The provinces (2 digits) and prefectures (4 digits) of every county code of every
    revision: a department that knows only 浙江省宁波市 writes 330200, a code of GB/T 2260 too."""
    with _lock:
        if _prefixes:
            return _prefixes[0]
    counties = [*_cached_set(DIVISION_SET).labels, *historic_divisions()]
    found = frozenset(code[:2] for code in counties) | frozenset(code[:4] for code in counties)
    with _lock:
        _prefixes[:] = [found]
    return found


def historic_division_successors() -> dict[str, str]:
    """Historic county code → the division of today that carries it on ("" when none does)."""
    return {code: known.successor for code, known in historic_divisions().items()}


def division_name(code: str) -> str:
    """The name of any division code: a loaded area (上海市徐汇区), otherwise a county of China
    (浙江省温州市鹿城区), otherwise a county of an earlier revision of GB/T 2260 with the year
    it left (上海市南市区（2000年前）), otherwise the code itself."""
    _expire()
    key = (code, _chinese())
    name = _division_names.get(key)
    if name is None:
        found = _area_name(code)
        if found is None:
            names = _cached_set(DIVISION_SET).labels.get(code)
            historic = None if names else historic_divisions().get(code)
            if names:
                found = names[0]
            elif historic is not None:
                found = historic.label
            else:
                found = code
        name = found
        with _lock:
            _division_names[key] = name
    return name
