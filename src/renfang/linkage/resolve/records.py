"""Stage 1 of ``renfang resolve``: every source record, read fast and folded into keys.

The records go from the database into DuckDB (in memory) in one pass: PostgreSQL writes them
with ``COPY … TO STDOUT`` as CSV into a scratch file, SQLite through a cursor; DuckDB reads the
file in parallel. The keys that need Python (pinyin and simplified characters of names, phone
numbers) are computed once per distinct value and joined back; the rest (ID numbers, dates,
divisions, addresses) is SQL over the whole table. The result is the table ``rec``, one row per
record, with what linkage compares.
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
from django.db import connection

from renfang.core import bulk
from renfang.linkage import normalize
from renfang.linkage.resolve import duck
from renfang.sources.models import PINNED_RULES, Source, SourceRecord

# The mapped fields linkage reads (common.md, "Mapped values").
FIELDS = (
    "id_type",
    "id_number",
    "name",
    "family_name",
    "given_name",
    "sex",
    "birth_date",
    "phone",
    "residence_division",
    "residence_house_code",
    "residence_address",
    "hukou_division",
    "hukou_address",
)
_COLUMNS = ("rid", "source", "person_id", "link_rule", *FIELDS)


def load(con: duckdb.DuckDBPyConnection, scratch: Path) -> int:
    """Read every source record into the DuckDB table ``src``; returns how many."""
    path = scratch / "records.csv"
    if bulk.is_postgresql():
        _copy_postgresql(path)
    else:
        _copy_sqlite(path)
    types = {name: "VARCHAR" for name in _COLUMNS}
    types["rid"] = types["person_id"] = "BIGINT"
    con.execute(
        "CREATE OR REPLACE TABLE src AS SELECT * FROM read_csv(?, header = false, "
        "auto_detect = false, delim = ',', columns = $types, quote = '\"', escape = '\"', "
        "strict_mode = false, null_padding = true)".replace("$types", _struct(types)),
        [str(path)],
    )
    path.unlink()
    return duck.count(con, "SELECT count(*) FROM src")


def _struct(types: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in types.items()) + "}"


def _select_sql(extract: str) -> str:
    record, source = bulk.table(SourceRecord), bulk.table(Source)
    values = ", ".join(extract.format(field=field) for field in FIELDS)
    return (
        f'SELECT r."id", s."code", r."person_id", r."link_rule", {values} '  # noqa: S608
        f'FROM "{record}" r JOIN "{source}" s ON s."id" = r."source_id"'
    )


def _copy_postgresql(path: Path) -> None:
    sql = _select_sql("r.\"mapped\" ->> '{field}'")
    with connection.cursor() as cursor, path.open("wb") as out:
        raw: Any = cursor.cursor
        with raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                out.write(block)


def _copy_sqlite(path: Path) -> None:
    sql = _select_sql("json_extract(r.\"mapped\", '$.{field}')")
    with connection.cursor() as cursor, path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        cursor.execute(sql)
        while rows := cursor.fetchmany(10_000):
            writer.writerows(rows)


# ---------------------------------------------------------------- keys

_ID_SUM = " + ".join(
    f"(ord(substr(b, {i + 1}, 1)) - 48) * {weight}" for i, weight in enumerate(normalize.ID_WEIGHTS)
)
# DuckDB's edit distances count bytes, and a Chinese character is three: names are compared
# character by character instead (up to _NAME_CHARS characters).
_NAME_CHARS = 12
_DIFFS = " + ".join(
    f"(substr(a, {i}, 1) <> substr(b, {i}, 1))::INTEGER" for i in range(1, _NAME_CHARS + 1)
)
_DROPS = " OR ".join(
    f"substr(a, 1, {i - 1}) || substr(a, {i + 1}) = b" for i in range(1, _NAME_CHARS + 1)
)
_MACROS = f"""
CREATE OR REPLACE MACRO id_check(b) AS substr('{normalize.ID_CHECK}', (({_ID_SUM}) % 11) + 1, 1);
CREATE OR REPLACE MACRO id_fold(x) AS upper(regexp_replace(x, '[\\s\\-_]', '', 'g'));
CREATE OR REPLACE MACRO blank(x) AS nullif(trim(x), '');
CREATE OR REPLACE MACRO one_char_differs(a, b) AS
    length(a) = length(b) AND ({_DIFFS}) = 1;
CREATE OR REPLACE MACRO one_char_dropped(a, b) AS
    length(a) = length(b) + 1 AND ({_DROPS});
CREATE OR REPLACE MACRO address_fold(x) AS nullif(replace(replace(translate(regexp_replace(
    lower(x), '[^0-9a-z\\x{{3400}}-\\x{{9fff}}\\x{{ff10}}-\\x{{ff19}}]', '', 'g'),
    '０１２３４５６７８９', '0123456789'), '号楼', '号'), '室', ''), '');
"""


def build_keys(con: duckdb.DuckDBPyConnection, today: datetime.date) -> None:
    """The table ``rec``: one row per record with the keys linkage compares."""
    con.execute(_MACROS)
    _fold_unusual_ids(con)
    con.register("name_keys", _name_key_table(con))
    con.register("phone_keys", _phone_key_table(con))
    pinned = ", ".join(f"'{rule}'" for rule in sorted(PINNED_RULES))
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW ids AS
        SELECT rid, kind, n,
            CASE WHEN kind = 'resident_id' AND regexp_full_match(n, '[0-9]{15}')
                THEN substr(n, 1, 6) || '19' || substr(n, 7)
                    || id_check(substr(n, 1, 6) || '19' || substr(n, 7))
                ELSE n END AS n18
        FROM (
            SELECT rid, n, CASE
                WHEN n IS NULL THEN NULL
                WHEN coalesce(blank(id_type), '') = 'resident_id' THEN 'resident_id'
                WHEN blank(id_type) IS NULL AND (regexp_full_match(n, '[0-9]{15}')
                    OR regexp_full_match(n, '[0-9]{17}.')) THEN 'resident_id'
                WHEN blank(id_type) IS NULL THEN 'other'
                ELSE trim(id_type) END AS kind
            FROM (SELECT rid, id_type, nullif(id_fold(id_number), '') AS n FROM src)
        )
        """  # noqa: S608
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE rec AS
        WITH checked AS (
            SELECT rid, kind, n18,
                CASE WHEN kind = 'resident_id' AND regexp_full_match(n18, '[0-9]{{17}}[0-9X]')
                    THEN try_strptime(substr(n18, 7, 8), '%Y%m%d')::DATE END AS id_dob_any,
                kind = 'resident_id' AND regexp_full_match(n18, '[0-9]{{17}}[0-9X]')
                    AND substr(n18, 18, 1) = id_check(n18) AS check_ok
            FROM ids
        ),
        idk AS (
            SELECT rid, kind, n18,
                CASE WHEN year(id_dob_any) >= 1880 AND id_dob_any <= DATE '{today.isoformat()}'
                    THEN id_dob_any END AS id_dob,
                coalesce(check_ok, false) AND year(id_dob_any) >= 1880
                    AND id_dob_any <= DATE '{today.isoformat()}' AS valid
            FROM checked
        )
        SELECT
            s.rid AS unique_id,
            s.source,
            s.person_id,
            coalesce(s.link_rule, '') AS link_rule,
            coalesce(s.link_rule, '') IN ({pinned}) AND s.person_id IS NOT NULL AS pinned,
            idk.kind AS id_kind,
            idk.n18 AS id_number,
            coalesce(idk.valid, false) AS id_valid,
            idk.id_dob,
            CASE WHEN idk.kind = 'resident_id' THEN
                CASE WHEN length(idk.n18) = 18 THEN substr(idk.n18, 1, 6) || substr(idk.n18, 15, 3)
                ELSE idk.n18 END END AS id_rest,
            blank(s.name) AS name_raw,
            nk.simplified AS name_s, nk.pinyin AS name_py, nk.surname_py, nk.given_py,
            nk.initials, nk.fuzzy, nk.shape,
            CASE WHEN blank(s.sex) IN ('1', '2') THEN trim(s.sex)
                WHEN idk.valid THEN CASE WHEN (ord(substr(idk.n18, 17, 1)) - 48) % 2 = 1
                    THEN '1' ELSE '2' END END AS sex,
            coalesce(try_cast(blank(s.birth_date) AS DATE), idk.id_dob) AS dob,
            pk.phone,
            blank(s.residence_house_code) AS res_house,
            address_fold(s.residence_address) AS res_addr,
            CASE WHEN regexp_full_match(trim(s.residence_division), '[0-9]{{6,}}')
                THEN trim(s.residence_division) END AS res_div,
            CASE WHEN regexp_full_match(trim(s.hukou_division), '[0-9]{{6,}}')
                THEN trim(s.hukou_division) END AS hk_div,
            address_fold(s.hukou_address) AS hk_addr
        FROM src s
        LEFT JOIN idk ON idk.rid = s.rid
        LEFT JOIN name_keys nk ON coalesce(nk.name, '') = coalesce(blank(s.name), '')
            AND coalesce(nk.family_name, '') = coalesce(blank(s.family_name), '')
            AND coalesce(nk.given_name, '') = coalesce(blank(s.given_name), '')
        LEFT JOIN phone_keys pk ON pk.raw = blank(s.phone)
        """  # noqa: S608
    )
    con.unregister("name_keys")
    con.unregister("phone_keys")
    con.execute("DROP VIEW ids")
    con.execute("DROP TABLE src")


def _fold_unusual_ids(con: duckdb.DuckDBPyConnection) -> None:
    """ID numbers with characters outside ASCII (full-width digits that a mapping did not
    fold): NFKC in Python, few of them."""
    rows = con.execute(
        "SELECT DISTINCT id_number FROM src WHERE NOT regexp_full_match(id_number, '[ -~]*')"
    ).fetchall()
    if not rows:
        return
    folded = pa.table(
        {
            "raw": [row[0] for row in rows],
            "folded": [normalize.fold_identifier(row[0]) for row in rows],
        }
    )
    con.register("folded_ids", folded)
    con.execute("UPDATE src SET id_number = f.folded FROM folded_ids f WHERE src.id_number = f.raw")
    con.unregister("folded_ids")


def _name_key_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    rows = con.execute(
        "SELECT DISTINCT blank(name), blank(family_name), blank(given_name) FROM src "
        "WHERE blank(name) IS NOT NULL OR blank(family_name) IS NOT NULL "
        "OR blank(given_name) IS NOT NULL"
    ).fetchall()
    columns: dict[str, list[str | None]] = {}
    names: list[str | None] = []
    families: list[str | None] = []
    givens: list[str | None] = []
    keyed: list[tuple[str, ...]] = []
    row_of = normalize.name_key_row
    for name, family_name, given_name in rows:
        names.append(name)
        families.append(family_name)
        givens.append(given_name)
        keyed.append(row_of(name or "", family_name or "", given_name or ""))
    columns["name"], columns["family_name"], columns["given_name"] = names, families, givens
    # name_key_row: simplified, surname, given, pinyin, surname pinyin, given pinyin,
    # initials, fuzzy, shape
    for key, index in (
        ("simplified", 0),
        ("pinyin", 3),
        ("surname_py", 4),
        ("given_py", 5),
        ("initials", 6),
        ("fuzzy", 7),
        ("shape", 8),
    ):
        columns[key] = [row[index] or None for row in keyed]
    return pa.table({key: pa.array(values, pa.string()) for key, values in columns.items()})


def _phone_key_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    rows = con.execute("SELECT DISTINCT blank(phone) FROM src WHERE blank(phone) IS NOT NULL")
    raw = [row[0] for row in rows.fetchall()]
    keys = [normalize.phone_key(value) or None for value in raw]
    normalize.phone_key.cache_clear()
    return pa.table({"raw": pa.array(raw, pa.string()), "phone": pa.array(keys, pa.string())})
