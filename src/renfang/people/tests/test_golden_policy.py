"""The survivorship policy file: the shipped defaults, and what a district gets wrong in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from renfang.people.golden import policy as policy_module
from renfang.people.golden.policy import (
    GOLDEN_FIELDS,
    PolicyError,
    check_golden_policy,
    check_golden_policy_sources,
    golden_policy,
    parse_policy,
)

SHIPPED = policy_module.POLICY_FILE.read_text(encoding="utf-8")


def policy_text(**fields: str | None) -> str:
    """A valid policy with some fields' lines replaced (value None: left out)."""
    lines = [f'{name} = ["register", "*"]' for name in GOLDEN_FIELDS if name not in fields]
    lines += [f"{name} = {value}" for name, value in fields.items() if value is not None]
    return 'conflict_fields = ["name"]\n[fields]\n' + "\n".join(lines) + "\n"


def test_the_shipped_policy_says_what_domain_md_says():
    policy = golden_policy()

    for name in ("id_type", "id_number", "name", "sex", "birth_date", "nationality"):
        assert policy.sources[name] == ("police", "register", "*")
    for name in ("ethnicity", "hukou_division", "hukou_type", "hukou_address"):
        assert policy.sources[name] == ("police", "register", "*")
    assert policy.sources["marital_status"] == ("civil_affairs", "*")
    assert policy.sources["employment"] == ("hrss", "*")
    for name in ("phone", "education", "residence_division", "residence_from", "tags"):
        assert policy.sources[name] == ("register", "*")
    assert policy.conflict_fields >= {"name", "id_number", "hukou_division", "marital_status"}
    assert not policy.conflict_fields & {"phone", "residence_division", "hukou_address"}
    # the register's history owns the residences and the hukou over time (ADR 0025)
    assert policy.history == {"residence": ("register",), "hukou": ("register",)}
    assert policy.history_source("residence", {"police", "register"}) == "register"
    assert policy.history_source("hukou", {"police", "health"}) is None


def test_a_policy_without_history_writes_every_residence_from_the_golden_value():
    policy = parse_policy(policy_text())

    assert policy.history == {}
    assert policy.history_source("residence", {"register"}) is None
    assert parse_policy(policy_text() + "[history]\nresidence = []\n").history == {"residence": ()}


def test_rank_puts_named_sources_first_then_the_star_and_drops_the_rest():
    policy = parse_policy(policy_text(name='["police", "register"]'))

    assert policy.rank("name", "police") == 0
    assert policy.rank("name", "health") is None
    assert policy.rank("phone", "health") == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (policy_text(nmae='["police"]'), "unknown field 'nmae'"),
        (policy_text(family_name='["police"]'), "a split name counts as name"),
        (policy_text(phone=None), "[fields] has no sources for phone"),
        (policy_text(name='["*", "police"]'), '"*" (any other source) must come last'),
        (policy_text(name='["police", "police"]'), "name names 'police' twice"),
        (policy_text(name="[]"), "name must be a list of source codes"),
        (policy_text(name='"police"'), "name must be a list of source codes"),
        (policy_text(name='["公安"]'), "'公安' is not a source code"),
        (policy_text().replace('["name"]', '["adress"]'), "conflict_fields: unknown field"),
        (policy_text().replace('["name"]', '"name"'), "conflict_fields must be a list"),
        ("fields = 3\n", "a [fields] table is required"),
        (policy_text() + "[sources]\n", "unknown keys ['sources']"),
        ("[fields\n", "golden.toml: "),
        (policy_text() + '[history]\nhouse = ["register"]\n', "[history] 'house' is not a fact"),
        (policy_text() + '[history]\nresidence = ["register", "*"]\n', "cannot stand for"),
        (policy_text() + '[history]\nhukou = "register"\n', "[history] hukou must be a list"),
        ("history = 1\n" + policy_text(), "history must be a table"),
    ],
)
def test_a_wrong_policy_is_refused_with_what_is_wrong(text, message):
    with pytest.raises(PolicyError) as refused:
        parse_policy(text)

    assert message in str(refused.value)


@pytest.fixture
def policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "golden.toml"
    monkeypatch.setattr(policy_module, "POLICY_FILE", path)
    golden_policy.cache_clear()
    yield path
    golden_policy.cache_clear()


def test_a_broken_policy_stops_renfang_at_start(policy_file: Path):
    policy_file.write_text(policy_text(nmae='["police"]'), encoding="utf-8")

    (error,) = check_golden_policy()

    assert error.id == "people.E001"
    assert "unknown field 'nmae'" in error.msg


def test_the_shipped_policy_passes_the_check():
    assert check_golden_policy() == []


@pytest.mark.django_db
def test_a_source_code_nobody_registered_is_only_a_warning(policy_file: Path):
    policy_file.write_text(
        policy_text(name='["polce", "police", "district_ledger", "*"]'), encoding="utf-8"
    )
    from renfang.testing.sources import source

    source("district_ledger")

    warnings = check_golden_policy_sources(databases=["default"])

    # "police" is a source every district adds in time; "district_ledger" is registered.
    assert [(w.id, "'polce'" in w.msg) for w in warnings] == [("people.W001", True)]
    assert check_golden_policy_sources(databases=None) == []
