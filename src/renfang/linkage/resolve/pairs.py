"""Which pairs of records the model weighs (blocking), and which it learns from (labels).

Only pairs that could change something are weighed: at least one record must lie in a
component without a valid resident ID (two components that hold different valid IDs are never
joined, so weighing them is wasted), and the two must not be in one component already. Each
blocking rule is an equality of keys; a key shared by very many records (a default birth date
with a common surname, a work unit's phone) is left out of that rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from renfang.linkage.resolve import duck

# (name, key expression over ``rec``, largest block kept)
BLOCKING_RULES: tuple[tuple[str, str, int], ...] = (
    ("birth date and surname", "dob::VARCHAR || '|' || surname_py", 400),
    ("phone", "phone", 60),
    ("name and birth year", "name_py || '|' || year(dob)", 400),
    ("committee and given name", "res_div || '|' || given_py", 400),
    ("ID region and sequence", "id_rest", 60),
    ("birth date and given name", "dob::VARCHAR || '|' || given_py", 400),
    ("name and hukou division", "name_py || '|' || hk_div", 400),
)


@dataclass
class Candidates:
    pairs: int
    labelled: int


def build(
    con: duckdb.DuckDBPyConnection, *, label_pairs: int = 300_000, random_pairs: int = 600_000
) -> Candidates:
    """The tables ``candidate_pairs`` (to weigh), ``labels`` (pairs of records sharing a valid
    ID: to learn m from) and ``random_pairs`` (to learn u from), each with match_key,
    join_key_l, join_key_r. Needs ``rec`` with ``comp`` and ``anchored``."""
    selects = []
    for index, (_name, key, cap) in enumerate(BLOCKING_RULES):
        selects.append(
            f"""
            SELECT {index} AS rule, a, b FROM (
                WITH k AS (
                    SELECT unique_id, comp, anchored, {key} AS key FROM rec
                    WHERE ({key}) IS NOT NULL
                ),
                small AS (SELECT key FROM k GROUP BY key HAVING count(*) <= {cap}),
                kk AS (SELECT k.* FROM k SEMI JOIN small USING (key))
                SELECT u.unique_id AS a, r.unique_id AS b
                FROM kk u JOIN kk r USING (key)
                WHERE NOT u.anchored AND u.comp <> r.comp
                    AND (r.anchored OR u.unique_id < r.unique_id)
            )
            """
        )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE candidate_pairs AS
        SELECT min(rule)::VARCHAR AS match_key, least(a, b) AS join_key_l,
            greatest(a, b) AS join_key_r
        FROM ({" UNION ALL ".join(selects)})
        GROUP BY 2, 3
        """  # noqa: S608
    )
    pairs = duck.count(con, "SELECT count(*) FROM candidate_pairs")
    con.execute(
        f"""
        CREATE OR REPLACE TABLE labels AS
        WITH anchored AS (
            SELECT unique_id, anchor_id,
                row_number() OVER (PARTITION BY anchor_id ORDER BY unique_id) AS nth
            FROM rec WHERE anchor_id IS NOT NULL AND NOT pinned
        ),
        firsts AS (SELECT anchor_id, unique_id AS first FROM anchored WHERE nth = 1)
        SELECT 'label' AS match_key, least(f.first, a.unique_id) AS join_key_l,
            greatest(f.first, a.unique_id) AS join_key_r
        FROM anchored a JOIN firsts f USING (anchor_id)
        WHERE a.nth > 1
        ORDER BY hash(a.anchor_id), a.unique_id
        LIMIT {int(label_pairs)}
        """  # noqa: S608
    )
    labelled = duck.count(con, "SELECT count(*) FROM labels")
    _random_pairs(con, random_pairs)
    return Candidates(pairs=pairs, labelled=labelled)


def _random_pairs(con: duckdb.DuckDBPyConnection, wanted: int) -> None:
    """The table ``random_pairs``: pairs of records picked at random (deterministically: by a
    hash of their ids), never two of one component. A small register gives all its pairs."""
    records = duck.count(con, "SELECT count(*) FROM rec")
    if records * (records - 1) // 2 <= wanted:
        con.execute(
            """
            CREATE OR REPLACE TABLE random_pairs AS
            SELECT 'random' AS match_key, l.unique_id AS join_key_l, r.unique_id AS join_key_r
            FROM rec l JOIN rec r ON l.unique_id < r.unique_id AND l.comp <> r.comp
            """
        )
        return
    offsets = max(1, wanted // records)
    leads = ", ".join(
        f"lead(unique_id, {k}) OVER w AS r{k}, lead(comp, {k}) OVER w AS c{k}"
        for k in range(1, offsets + 1)
    )
    unions = " UNION ALL ".join(
        f"SELECT unique_id AS a, r{k} AS b FROM shuffled WHERE r{k} IS NOT NULL AND c{k} <> comp"
        for k in range(1, offsets + 1)
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE random_pairs AS
        WITH shuffled AS (
            SELECT unique_id, comp, {leads} FROM rec
            WINDOW w AS (ORDER BY hash(unique_id), unique_id)
        )
        SELECT 'random' AS match_key, least(a, b) AS join_key_l, greatest(a, b) AS join_key_r
        FROM ({unions})
        ORDER BY hash(least(a, b), greatest(a, b)), least(a, b), greatest(a, b)
        LIMIT {int(wanted)}
        """  # noqa: S608
    )
