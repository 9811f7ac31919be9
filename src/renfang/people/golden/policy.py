"""The survivorship policy (data/golden.toml): which sources are authoritative for each field.

The district edits the file; it is checked at start (``people.E001``: renfang does not start
with a policy it cannot read) and against the registered sources when the database is at hand
(``people.W001``: a warning only, because a district writes its policy before it has added
every source it names).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from renfang.sources.mapping.fields import FIELDS

POLICY_FILE = Path(__file__).resolve().parents[1] / "data" / "golden.toml"

# "Every source not named before it, the most recently received record first."
ANY_SOURCE = "*"

# The fields of a golden record: the mapped fields of a source record (common to every
# source) except the two halves of a split name, which count as ``name``.
SPLIT_NAME_FIELDS = ("family_name", "given_name")
GOLDEN_FIELDS: tuple[str, ...] = tuple(field for field in FIELDS if field not in SPLIT_NAME_FIELDS)
# The sources every district has or is expected to add (issue 4): a policy naming one of them
# before it is registered is normal; any other unknown code is probably a typing error.
EXPECTED_SOURCES = frozenset(
    {
        "register",
        "police",
        "civil_affairs",
        "family_planning",
        "hrss",
        "health",
        "education",
        "residence_permit",
        "street_ledger",
    }
)
_SOURCE_CODE = re.compile(r"[-a-zA-Z0-9_]+")  # a Django slug, like Source.code


class PolicyError(ValueError):
    """The policy file is wrong; the message names the key and says what is expected."""


@dataclass(frozen=True)
class GoldenPolicy:
    """For each field, the sources in order (``"*"`` possibly last); the conflict fields."""

    sources: Mapping[str, tuple[str, ...]]
    conflict_fields: frozenset[str]
    # The sources whose records carry a person's history (people/golden/history.py), for the
    # residences and for the hukou: the first of them with a record linked to the person
    # writes those facts over time; a person with none gets the golden value of today.
    history: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def history_source(self, fact: str, codes: Iterable[str]) -> str | None:
        """Of these source codes (a person's records'), the one whose history writes the
        person's ``fact`` ("residence" or "hukou"); None: none does."""
        present = set(codes)
        return next((code for code in self.history.get(fact, ()) if code in present), None)

    def history_sources(self) -> frozenset[str]:
        """Every source named in ``[history]``: their records write people's residences and
        hukou over time, so only renfang's own import of them may write them (ADR 0033)."""
        return frozenset(code for order in self.history.values() for code in order)

    def rank(self, field: str, source_code: str) -> int | None:
        """Where a source stands for a field (0 first); None: never taken for it."""
        order = self.sources[field]
        if source_code in order:
            return order.index(source_code)
        if order[-1] == ANY_SOURCE:
            return len(order) - 1
        return None

    def ranks(self, order: tuple[str, ...]) -> dict[str, int]:
        """Source code → its place in ``order`` (``"*"`` included)."""
        found = self._ranks.get(order)
        if found is None:
            found = self._ranks[order] = {code: index for index, code in enumerate(order)}
        return found

    @cached_property
    def _ranks(self) -> dict[tuple[str, ...], dict[str, int]]:
        return {}

    def ranks_of_source(self, source_code: str) -> dict[str, int]:
        """Field → where this source stands for it (fields it is never taken for: absent)."""
        found = self._source_ranks.get(source_code)
        if found is None:
            found = self._source_ranks[source_code] = {
                name: rank
                for name in GOLDEN_FIELDS
                if (rank := self.rank(name, source_code)) is not None
            }
        return found

    @cached_property
    def _source_ranks(self) -> dict[str, dict[str, int]]:
        return {}

    def named_sources(self) -> frozenset[str]:
        orders = [*self.sources.values(), *self.history.values()]
        return frozenset(code for order in orders for code in order if code != ANY_SOURCE)


def _source_list(field: str, value: Any, where: str, *, table: str = "[fields]") -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise PolicyError(
            f'{where}: {table} {field} must be a list of source codes, e.g. ["police", "*"]'
        )
    codes: list[str] = []
    for code in value:
        if not isinstance(code, str) or not (code == ANY_SOURCE or _SOURCE_CODE.fullmatch(code)):
            raise PolicyError(
                f"{where}: {table} {field}: {code!r} is not a source code "
                '(letters, digits, "-" and "_") or "*"'
            )
        if code in codes:
            raise PolicyError(f"{where}: {table} {field} names {code!r} twice")
        codes.append(code)
    if ANY_SOURCE in codes[:-1]:
        raise PolicyError(f'{where}: {table} {field}: "*" (any other source) must come last')
    return tuple(codes)


def _unknown_field(name: str, where: str, key: str) -> PolicyError:
    if name in SPLIT_NAME_FIELDS:
        return PolicyError(
            f"{where}: {key}: {name!r} is not a field of its own: a split name counts as name"
        )
    return PolicyError(
        f"{where}: {key}: unknown field {name!r}; the fields are {', '.join(GOLDEN_FIELDS)}"
    )


def parse_policy(text: str, where: str = "golden.toml") -> GoldenPolicy:
    """The policy in ``text``; raises PolicyError naming the first thing wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{where}: {exc}") from exc
    unknown_keys = set(data) - {"fields", "conflict_fields", "history"}
    if unknown_keys:
        raise PolicyError(
            f"{where}: unknown keys {sorted(unknown_keys)}; expected conflict_fields, [fields] "
            "and [history]"
        )
    table = data.get("fields")
    if not isinstance(table, dict):
        raise PolicyError(f"{where}: a [fields] table is required")
    for name in table:
        if name not in GOLDEN_FIELDS:
            raise _unknown_field(name, where, "[fields]")
    missing = [name for name in GOLDEN_FIELDS if name not in table]
    if missing:
        raise PolicyError(f"{where}: [fields] has no sources for {', '.join(missing)}")
    sources = {name: _source_list(name, table[name], where) for name in GOLDEN_FIELDS}
    conflict_fields = data.get("conflict_fields", [])
    if not isinstance(conflict_fields, list) or not all(
        isinstance(name, str) for name in conflict_fields
    ):
        raise PolicyError(f"{where}: conflict_fields must be a list of field names")
    for name in conflict_fields:
        if name not in GOLDEN_FIELDS:
            raise _unknown_field(name, where, "conflict_fields")
    return GoldenPolicy(
        sources=sources,
        conflict_fields=frozenset(conflict_fields),
        history=_history(data.get("history", {}), where),
    )


HISTORY_FACTS = ("residence", "hukou")


def _history(table: Any, where: str) -> dict[str, tuple[str, ...]]:
    """``[history]``: for the residences and the hukou, the sources whose records carry a
    person's history, in order (named: "*" makes no sense for a history)."""
    if not isinstance(table, dict):
        raise PolicyError(f"{where}: history must be a table: [history]")
    for name in table:
        if name not in HISTORY_FACTS:
            raise PolicyError(
                f"{where}: [history] {name!r} is not a fact kept over time from a source; "
                f"the facts are {', '.join(HISTORY_FACTS)}"
            )
    found: dict[str, tuple[str, ...]] = {}
    for name, value in table.items():
        if value == []:
            found[name] = ()
            continue
        order = _source_list(name, value, where, table="[history]")
        if ANY_SOURCE in order:
            raise PolicyError(
                f'{where}: [history] {name}: "*" cannot stand for a source that keeps a history; '
                "name the sources"
            )
        found[name] = order
    return found


@cache
def golden_policy() -> GoldenPolicy:
    """The district's policy, read once per process."""
    return parse_policy(POLICY_FILE.read_text(encoding="utf-8"), str(POLICY_FILE))


@register()
def check_golden_policy(**kwargs: Any) -> list[Error]:
    try:
        golden_policy()
    except PolicyError as exc:
        return [Error(str(exc), id="people.E001")]
    return []


@register(Tags.database)
def check_golden_policy_sources(
    databases: Sequence[str] | None = None, **kwargs: Any
) -> list[Warning]:
    """Source codes the policy names that no source has and no district is expected to add."""
    if not databases:
        return []
    from renfang.sources.models import Source  # noqa: PLC0415 (models load after the checks)

    try:
        policy = golden_policy()
        known = set(Source.objects.values_list("code", flat=True))
    except (PolicyError, DatabaseError):  # reported by people.E001 / not migrated yet
        return []
    unknown = sorted(policy.named_sources() - known - EXPECTED_SOURCES)
    history = policy.history_sources()
    return [
        Warning(
            f"{POLICY_FILE}: the policy names source {code!r}, which is not registered",
            hint=(
                "A source of [history] is registered by renfang's own import of it, not by "
                "`renfang sources add` (ADR 0033); correct the code in golden.toml."
                if code in history
                else "Add it with `renfang sources add`, or correct the code in golden.toml."
            ),
            id="people.W001",
        )
        for code in unknown
    ]
