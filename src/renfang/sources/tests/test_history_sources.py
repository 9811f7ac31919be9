"""A source that keeps people's history is written by renfang's own import only (ADR 0033).

The attack of 2026-12-07 (ADR 0025, "Known and left for later"): the records of ``register``
carry a person's whole history of residences and hukou, and golden.toml's ``[history]`` says
their history writes the person's facts. A department file imported into ``register`` (or into
any source ``[history]`` names), a publisher granted such a source, or a user adding its code by
hand could write or claim people's histories. Each path is now refused, with the source's code
and why, and leaves nothing behind: only ``renfang register import`` writes a history source.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation

from renfang.accounts.tokens import api_token_create
from renfang.audit.models import Action, AuditEvent
from renfang.people.facts import person_placeholder
from renfang.people.golden import golden_policy
from renfang.people.golden.policy import GoldenPolicy
from renfang.register.source import REGISTER_MAPPING, register_source
from renfang.sources.models import (
    HeldRecord,
    ImportStatus,
    Source,
    SourceImport,
    SourceRecord,
)
from renfang.sources.services import SourceError, history_source_add, source_add
from renfang.sources.tests.conftest import POLICE_MAPPING, police_row, write_csv
from renfang.testing.matrix import World, build_world
from renfang.testing.sources import record
from renfang.testing.users import client_for

pytestmark = pytest.mark.django_db

WHY = "keeps people's residence and hukou history (golden.toml, [history])"
ZHANG = "310104198001011239"
REGISTER_COLUMNS = ["id_type", "id_number", "name", "residence_division", "spells"]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def fails(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        run(*args)
    return str(caught.value)


def register_file(path: Path) -> Path:
    """A department's file shaped like the register's own records, with a history of its own."""
    path.write_text(
        ",".join(REGISTER_COLUMNS)
        + f'\nresident_id,{ZHANG},张伟,310104003001,"[[""2020-01-01"",null,""110101"",null,'
        '""110101"",""family""]]"\n',
        encoding="utf-8",
    )
    return path


def mapping_file(tmp_path: Path, text: str = POLICE_MAPPING) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def register() -> Source:
    """The register source as renfang registers it: the first register import does so."""
    return register_source(None)


@pytest.fixture
def ledger_keeps_history(monkeypatch: pytest.MonkeyPatch) -> Source:
    """A district's street ledger, added by hand before golden.toml named it in [history]."""
    ledger = source_add("street_ledger", "街道台账", POLICE_MAPPING, actor=None)
    district = golden_policy()
    policy = GoldenPolicy(
        sources=district.sources,
        conflict_fields=district.conflict_fields,
        history={"residence": ("register", "street_ledger"), "hukou": ("register",)},
    )
    monkeypatch.setattr("renfang.sources.services.sources.golden_policy", lambda: policy)
    return ledger


def test_a_department_file_into_the_register_is_refused_naming_the_source(
    register: Source, tmp_path: Path
) -> None:
    path = register_file(tmp_path / "register.csv")
    events = AuditEvent.objects.count()

    message = fails("import", "register", str(path), "--no-progress")

    assert message.startswith(f"refused {path}: 1 error(s) in register.csv; nothing was saved.")
    assert f"source register {WHY}: only renfang register import writes a history source" in (
        message
    )
    assert not SourceRecord.objects.exists()
    refused = SourceImport.objects.get(source=register)
    assert refused.status == ImportStatus.REFUSED
    assert "only renfang register import writes a history source" in refused.report["message"]
    # The refusal is audited as any refused import is.
    assert AuditEvent.objects.count() == events + 1


def test_a_file_into_a_source_golden_toml_names_in_history_is_refused(
    ledger_keeps_history: Source, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text("人员编号,公民身份号码\nP001," + ZHANG + "\n", encoding="utf-8")

    message = fails("import", "street_ledger", str(path), "--no-progress")

    assert f"source street_ledger {WHY}" in message
    assert not SourceRecord.objects.exists()


def test_the_refusal_speaks_chinese(register: Source, tmp_path: Path) -> None:
    path = register_file(tmp_path / "register.csv")

    with translation.override("zh-hans"):
        message = fails("import", "register", str(path), "--no-progress")

    assert "数据来源 register 保存人员的居住和户籍历史" in message


def test_nobody_adds_a_history_source_by_hand(tmp_path: Path) -> None:
    mapping = mapping_file(tmp_path, REGISTER_MAPPING)

    before = fails("sources", "add", "register", "--name", "人口登记", "--mapping", str(mapping))
    # … nor claims it with a publisher named in the same command.
    User.objects.create_user("dept", password="x-unused-x")
    with_publisher = fails(
        "sources",
        "add",
        " register",
        "--name",
        "x",
        "--mapping",
        str(mapping),
        "--publisher",
        "dept",
    )

    assert f"source register {WHY}" in before
    assert "it cannot be added by hand" in before
    assert f"source register {WHY}" in with_publisher
    assert not Source.objects.exists()
    # renfang registers it itself (the first register import), audited as the system's.
    source = register_source(None)
    assert source.code == "register"
    assert AuditEvent.objects.filter(
        record_type="source", record_id="register", detail__action="source added"
    ).exists()
    # Once it exists, adding it again is refused for the same reason, not as a taken code.
    after = fails("sources", "add", "register", "--name", "x", "--mapping", str(mapping))
    assert f"source register {WHY}" in after
    assert Source.objects.get().name == source.name


def test_a_code_golden_toml_names_in_history_is_not_added_by_hand(
    ledger_keeps_history: Source, tmp_path: Path
) -> None:
    ledger_keeps_history.delete()

    message = fails(
        "sources", "add", "street_ledger", "--name", "x", "--mapping", str(mapping_file(tmp_path))
    )

    assert f"source street_ledger {WHY}" in message
    assert not Source.objects.filter(code="street_ledger").exists()


def test_only_a_history_source_is_added_as_one() -> None:
    with pytest.raises(SourceError, match="not a source of people's history"):
        history_source_add("police", "公安户籍", POLICE_MAPPING, actor=None)
    assert not Source.objects.exists()


def test_no_publisher_is_granted_a_history_source(register: Source) -> None:
    User.objects.create_user("dept", password="x-unused-x")

    message = fails("sources", "publishers", "register", "--add", "dept")

    assert f"source register {WHY}" in message
    assert "it has no publishers" in message
    assert not register.publishers.exists()


def test_a_grant_left_on_a_history_source_can_still_be_removed(
    ledger_keeps_history: Source,
) -> None:
    # Granted while the ledger was a department source like the others.
    dept = User.objects.create_user("dept", password="x-unused-x")
    ledger_keeps_history.publishers.add(dept)

    assert "it has no publishers" in fails("sources", "publishers", "street_ledger", "--add", "x")
    output = run("sources", "publishers", "street_ledger", "--remove", "dept")

    assert output.strip() == "publishers of street_ledger: -"
    assert not ledger_keeps_history.publishers.exists()


def _api_client(user: User) -> Client:
    key = api_token_create(user=user, name="department system").key
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en")


def _send(client: Client, url: str, record: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(record), content_type="application/json")


def test_a_publisher_left_on_the_register_is_refused_at_push_time(register: Source) -> None:
    """A grant made before the register kept a history (or written to the database by other
    means): the record is refused before it is read, nothing is stored, the attempt is
    audited as denied."""
    dept = User.objects.create_user("dept", password="x-unused-x")
    register.publishers.add(dept)
    record = {"id_type": "resident_id", "id_number": ZHANG, "name": "张伟", "spells": "[]"}

    response = _send(_api_client(dept), "/api/sources/register/records", record)

    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert f"source register {WHY}" in error["message"]
    assert "no system publishes to it" in error["message"]
    assert not SourceRecord.objects.exists()
    assert AuditEvent.objects.filter(
        user_id=dept.pk, action=Action.DENIED, record_type="source", record_id="register"
    ).exists()


def test_a_publisher_of_a_source_named_in_history_later_is_refused(
    ledger_keeps_history: Source,
) -> None:
    dept = User.objects.create_user("dept", password="x-unused-x")
    ledger_keeps_history.publishers.add(dept)

    response = _send(
        _api_client(dept), "/api/sources/street_ledger/records", {"人员编号": "P1", "姓": "张"}
    )

    assert response.status_code == 403, response.content
    assert f"source street_ledger {WHY}" in response.json()["error"]["message"]
    assert not SourceRecord.objects.exists()


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def test_a_held_record_of_the_register_is_not_applied_but_may_be_rejected(world: World) -> None:
    """A record held for review before the register kept a history: applying it would write
    the person's history from a department's record."""
    register = register_source(None)
    person = world.planted["A1"].person
    dept = User.objects.create_user("dept", password="x-unused-x")
    values = {"id_type": "resident_id", "id_number": person.id_number or "", "spells": "[]"}
    held = [
        HeldRecord.objects.create(
            source=register,
            record_id=f"resident_id:{person.id_number}",
            raw=values,
            mapped=values,
            person_id=person.pk,
            publisher=dept,
        )
        for _ in range(2)
    ]
    admin = client_for(world.users["district_admin"])
    url = "/api/sources/register/held-records"

    applied = _send(admin, f"{url}/{held[0].pk}/decision", {"apply": True})
    rejected = _send(admin, f"{url}/{held[1].pk}/decision", {"apply": False})

    assert applied.status_code == 422, applied.content
    # The reviewer's page speaks Chinese.
    (problem,) = applied.json()["error"]["fields"]
    assert problem["message"].startswith("数据来源 register 保存人员的居住和户籍历史")
    assert "历史来源只由 renfang register import 写入" in problem["message"]
    assert rejected.status_code == 200, rejected.content
    assert list(HeldRecord.objects.values_list("pk", flat=True)) == [held[0].pk]
    assert not SourceRecord.objects.filter(source=register).exists()


def test_a_department_import_says_how_many_persons_have_no_usable_history(
    register: Source, tmp_path: Path
) -> None:
    """Zhang's register record was kept before histories (no spells): a police file that
    changes his record refreshes his golden record, which leaves his residences as they are
    and says so."""
    source_add("police", "公安户籍", POLICE_MAPPING, actor=None)
    zhang = person_placeholder()
    record(zhang, "police", record_id="P001", name="张卫")
    SourceRecord.objects.create(
        source=register, record_id=f"resident_id:{ZHANG}", mapped={"name": "张伟"}, person=zhang
    )

    output = run("import", "police", str(write_csv(tmp_path / "p.csv", [police_row()])))

    assert (
        "1 person's record in a source of history (golden.toml, [history]) carries no usable "
        "history"
    ) in output
    assert SourceImport.objects.get(source__code="police").report["no_history"] == 1


def test_the_registers_mapping_gets_no_new_version(register: Source, tmp_path: Path) -> None:
    """The register's mapping documents the record renfang keeps; renfang reads the files
    itself, so a version typed by hand would say something untrue ("from the next import")."""
    broken = REGISTER_MAPPING.replace('name: "{name}"', 'name: "{xingming}"')
    message = fails("sources", "mapping", "register", str(mapping_file(tmp_path, broken)))
    assert "keeps people's residence and hukou history" in message
    assert fails("sources", "mapping", "register", str(mapping_file(tmp_path, REGISTER_MAPPING)))
    assert [m.version for m in register.mappings.all()] == [1]

    admin = client_for(build_world().users["district_admin"])
    admin.cookies["django_language"] = "en"
    page = admin.post("/sources/register/mapping/", {"text": broken})
    assert page.status_code == 400
    assert "renfang reads its files itself" in page.content.decode()
    assert [m.version for m in register.mappings.all()] == [1]
