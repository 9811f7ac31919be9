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

from renfang.areas.models import Area
from renfang.codes.models import Code

CACHE_SECONDS = 60.0
DIVISION_SET = "division"


@dataclass(frozen=True)
class _CachedSet:
    labels: dict[str, tuple[str, str]]  # code → (name, English name); closed codes too
    active: frozenset[str]
    active_in_order: tuple[str, ...]


_lock = threading.Lock()
_sets: dict[str, _CachedSet] = {}
_division_names: dict[str, str] = {}
_filled_at = time.monotonic()


def clear_cache() -> None:
    """Forget every cached set and division name (after a load, and between tests)."""
    global _filled_at  # noqa: PLW0603 (the cache is module state by design)
    with _lock:
        _sets.clear()
        _division_names.clear()
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


def division_name(code: str) -> str:
    """The name of any division code: a loaded area (上海市徐汇区), otherwise a county of China
    (浙江省温州市鹿城区), otherwise the code itself."""
    _expire()
    name = _division_names.get(code)
    if name is None:
        found = _area_name(code)
        if found is None:
            names = _cached_set(DIVISION_SET).labels.get(code)
            found = names[0] if names else code
        name = found
        with _lock:
            _division_names[code] = name
    return name
