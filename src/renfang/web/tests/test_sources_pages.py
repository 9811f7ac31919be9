"""The sources pages (数据来源): the list, one source with its mapping versions, imports and
unmapped codes, a new mapping version, the unmapped codes of every source, the exports; only
for roles that manage sources."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from renfang.accounts.access import mask_id_number, mask_phone
from renfang.audit.models import Action, AuditEvent
from renfang.sources.models import ImportStatus, Mapping, Source, SourceImport, UnmappedCode
from renfang.testing.matrix import World, build_world
from renfang.testing.sources import POLICE_MAPPING, plant_sources
from renfang.testing.users import client_for


@pytest.fixture
def world(db: None) -> World:
    built = build_world()
    plant_sources(built)
    return built


def english(client: Client) -> Client:
    """The pages in English: these tests read the words on them (the Chinese catalogue of
    new strings is merged separately)."""
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def admin(world: World):
    return english(client_for(world.users["district_admin"]))


def _rows(response) -> list[list[object]]:
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def test_the_list_shows_each_source_with_its_mapping_records_last_import_and_unmapped(world, admin):
    page = admin.get("/sources/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "公安户籍" in html and "民政" in html
    assert "minzheng-2025.csv" in html  # civil affairs' last import
    assert "4 read: 4 new, 0 changed, 0 unchanged, 1 flagged" in html
    assert 'href="/sources/unmapped/?source=civil_affairs">1</a>' in html
    assert AuditEvent.objects.filter(
        user_id=world.users["district_admin"].pk, action=Action.READ, record_type="source"
    ).exists()


@pytest.mark.parametrize("role", ["street_officer", "committee_clerk", "police", "auditor"])
def test_roles_that_do_not_manage_sources_do_not_find_the_pages(world, role):
    client = client_for(world.users[role])
    user_id = world.users[role].pk

    for path in ("/sources/", "/sources/police/", "/sources/unmapped/", "/sources/sources.xlsx"):
        assert client.get(path).status_code == 404, path
    assert client.post("/sources/police/mapping/", {"text": POLICE_MAPPING}).status_code == 404

    denied = AuditEvent.objects.filter(user_id=user_id, action=Action.DENIED, record_type="page")
    assert denied.count() == 5
    assert Mapping.objects.filter(source__code="police").count() == 1
    home = client.get("/").content.decode()
    assert 'id="nav-sources"' not in home


def test_the_navigation_offers_each_role_its_own_pages(world):
    navs = {}
    for role in ("district_admin", "street_officer", "committee_clerk", "collector"):
        home = client_for(world.users[role]).get("/").content.decode()
        navs[role] = {
            link
            for link in ("nav-sources", "nav-review", "nav-conflicts")
            if f'id="{link}"' in home
        }
    assert navs == {
        "district_admin": {"nav-sources", "nav-review", "nav-conflicts"},
        "street_officer": {"nav-review", "nav-conflicts"},
        "committee_clerk": {"nav-conflicts"},
        "collector": set(),
    }


def test_a_source_page_shows_mapping_versions_imports_with_masked_reports_and_unmapped_codes(
    world, admin
):
    a1, b1 = world.planted["A1"], world.planted["B1"]

    page = admin.get("/sources/civil_affairs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "id_number: &quot;{身份证号}&quot;" in html  # the YAML of version 1
    assert "minzheng-2025.csv" in html
    # The problem quotes an ID number and a phone: masked for a masked role.
    assert a1.id_number not in html and b1.phone not in html
    assert mask_id_number(a1.id_number) in html
    assert mask_phone(b1.phone + "x") in html  # masked as a phone, the field it was sent as
    assert "丧偶" in html


def test_near_id_numbers_in_problems_and_unmapped_codes_are_masked(world, admin):
    a1 = world.planted["A1"]
    near = a1.id_number[:17]  # the check digit missing: no resident ID, still a person's
    civil = Source.objects.get(code="civil_affairs")
    SourceImport.objects.create(
        source=civil,
        file_name="minzheng-2026.csv",
        status=ImportStatus.DONE,
        report={
            "problems": [
                {
                    "record_id": "M-7",
                    "line": 2,
                    "field": "id_number",
                    "value": near,
                    "reason": f"'{near}' is not a resident ID number",
                    "kind": "unreadable",
                }
            ],
            "unmapped": [{"field": "marital_status", "value": a1.id_number, "records": 1}],
        },
    )
    # An ID number typed into the marital status column.
    UnmappedCode.objects.create(source=civil, field="marital_status", value=a1.id_number, records=1)

    pages = [admin.get(path) for path in ("/sources/civil_affairs/", "/sources/unmapped/")]
    export = admin.get("/sources/unmapped.xlsx")

    for page in pages:
        html = page.content.decode()
        assert near not in html and a1.id_number not in html
    assert mask_id_number(near) in pages[0].content.decode()
    assert mask_id_number(a1.id_number) in pages[1].content.decode()
    assert a1.id_number not in str(_rows(export))


def test_an_unknown_source_is_not_found(admin):
    assert admin.get("/sources/nosuch/").status_code == 404


def test_an_invalid_mapping_is_shown_with_every_problem_and_not_saved(world, admin):
    text = (
        'record_id: "{编号}"\nfields:\n  sex:\n    value: "{性别}"\n    codes: {男: M}\n'
        "  colour: red\n"
    )

    page = admin.post("/sources/police/mapping/", {"text": text})

    assert page.status_code == 400
    html = page.content.decode()
    assert 'id="mapping-errors"' in html
    assert "line 5, fields.sex.codes" in html
    assert "line 6, fields.colour" in html
    assert "colour: red" in html  # the text stays in the box to be corrected
    assert Mapping.objects.filter(source__code="police").count() == 1


def test_a_valid_mapping_becomes_the_next_version_and_the_same_text_changes_nothing(world, admin):
    text = POLICE_MAPPING + '  sex: "1"\n'

    saved = admin.post("/sources/police/mapping/", {"text": text}, follow=True)

    assert saved.redirect_chain == [("/sources/police/", 302)]
    assert "Mapping version 2 saved" in saved.content.decode()
    current = Source.objects.get(code="police").current_mapping()
    assert current is not None
    assert (current.version, current.created_by) == (2, "m_admin")

    again = admin.post("/sources/police/mapping/", {"text": text}, follow=True)
    assert "The mapping is unchanged" in again.content.decode()
    assert Mapping.objects.filter(source__code="police").count() == 2


def test_a_mapping_can_be_uploaded_as_a_file(world, admin):
    upload = SimpleUploadedFile(
        "police.yaml", ("\ufeff" + POLICE_MAPPING + '  sex: "2"\n').encode(), "text/yaml"
    )

    response = admin.post("/sources/police/mapping/", {"text": "", "file": upload})

    assert response.status_code == 302
    current = Source.objects.get(code="police").current_mapping()
    assert current is not None and current.text.endswith('sex: "2"\n')


def test_an_empty_mapping_is_refused_with_a_message(world, admin):
    page = admin.post("/sources/police/mapping/", {"text": "  "})

    assert page.status_code == 400
    assert "Type the mapping or choose a file." in page.content.decode()


def test_the_unmapped_codes_list_and_its_export(world, admin):
    Source.objects.create(code="health", name="卫健")

    page = admin.get("/sources/unmapped/")
    only_health = admin.get("/sources/unmapped/?source=health")
    export = admin.get("/sources/unmapped.xlsx?source=civil_affairs")

    html = page.content.decode()
    assert "丧偶" in html and "Marital status" in html
    assert "丧偶" not in only_health.content.decode()
    rows = _rows(export)
    assert rows[0][:6] == ["Source", "Source name", "Field", "Field name", "Value", "Records"]
    assert rows[1][:6] == ["civil_affairs", "民政", "marital_status", "Marital status", "丧偶", 1]
    assert AuditEvent.objects.filter(action=Action.EXPORT, record_type="source").count() == 1


def test_the_sources_export(world, admin):
    rows = _rows(admin.get("/sources/sources.xlsx"))

    assert [r[0] for r in rows[1:]] == ["civil_affairs", "police"]
    civil = rows[1]
    assert civil[1:5] == ["民政", 1, 4, 1]
    assert civil[6] == "minzheng-2025.csv"
