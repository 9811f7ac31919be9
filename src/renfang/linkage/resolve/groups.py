"""Stage 2 of ``renfang resolve``: the records that are one person for certain.

* Records pinned by a person's decision (review, merge, split) to the same person are one.
* Records with the same valid resident ID are one (rule ``id``) — except a record whose birth
  date disagrees with the ID's and whose name agrees with none of the ID's other records: an ID
  typed into another person's number (often a family member's, DOMAIN.md). It is taken out and
  linked by weights, its ID set aside (not compared either: it is someone else's).
  Likewise the odd one out: a record whose name agrees with none of two or more other records
  of its ID (a mistyped number that hit a real person's, keeping the birth date).
* A record with a valid ID that no other record has, one typing error (a digit, two swapped)
  away from another valid ID held by a record of the very same name: a mistyped number that
  happens to pass the check (old 15-digit numbers have no check to fail). It is not trusted as
  an anchor and is linked by weights, the near ID its evidence.
* Records with the same identifier of another kind (social security number…) are one
  (rule ``identifier``).

Each record gets a group (``grp``); the groups are the nodes of the clustering.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from renfang.linkage.resolve import duck
from renfang.linkage.resolve.clusters import Components


@dataclass
class Groups:
    count: int
    components: Components
    taken_out: int
    deterministic_edges: int


def build(con: duckdb.DuckDBPyConnection, *, apart: list[tuple[int, int]]) -> Groups:
    """Add ``grp`` to ``rec`` and start the components: pinned groups, ID anchors and the
    unions of pinned groups with the ID and identifier groups of their records.
    ``apart``: record pairs a reviewer kept apart."""
    taken_out = _take_out(con)
    con.execute(
        """
        CREATE OR REPLACE TABLE rec AS
        WITH keyed AS (
            SELECT r.*, CASE
                WHEN r.pinned THEN 'p' || r.person_id
                WHEN r.anchor_id IS NOT NULL THEN 'i' || r.anchor_id
                WHEN r.id_kind IS NOT NULL AND r.id_kind <> 'resident_id'
                    THEN 'o' || r.id_kind || ':' || r.id_number
                ELSE 'r' || r.unique_id END AS group_key
            FROM (
                SELECT rec.* REPLACE (
                        CASE WHEN t.why = 'foreign' THEN NULL ELSE rec.id_rest END AS id_rest),
                    CASE WHEN rec.id_valid AND t.unique_id IS NULL THEN rec.id_number
                    END AS anchor_id,
                    t.why AS id_doubt
                FROM rec LEFT JOIN untrusted t USING (unique_id)
            ) r
        ),
        numbered AS (
            SELECT group_key, (row_number() OVER (ORDER BY group_key) - 1)::BIGINT AS grp
            FROM (SELECT DISTINCT group_key FROM keyed)
        )
        SELECT keyed.* EXCLUDE (group_key), numbered.grp
        FROM keyed JOIN numbered USING (group_key)
        """
    )
    con.execute("DROP TABLE untrusted")
    count = duck.count(con, "SELECT coalesce(max(grp), -1) + 1 FROM rec")
    components = Components(count)
    # Every group is its own component yet: its numbers go straight in.
    held: dict[int, set[str]] = {}
    for grp, number in con.execute(
        "SELECT DISTINCT grp, anchor_id FROM rec WHERE anchor_id IS NOT NULL"
    ).fetchall():
        held.setdefault(grp, set()).add(number)
    components.ids = {grp: frozenset(numbers) for grp, numbers in held.items()}
    for grp, kind, number in con.execute(
        "SELECT DISTINCT grp, id_kind, id_number FROM rec "
        "WHERE id_kind IS NOT NULL AND id_kind <> 'resident_id'"
    ).fetchall():
        components.hold_other(grp, kind, number)
    for grp, person_id in con.execute(
        "SELECT DISTINCT grp, person_id FROM rec WHERE pinned"
    ).fetchall():
        components.pin(grp, person_id)
    if apart:
        group_of = dict(
            con.execute(
                "SELECT unique_id, grp FROM rec WHERE list_contains(?, unique_id)",
                [sorted({rid for pair in apart for rid in pair})],
            ).fetchall()
        )
        for left, right in apart:
            if left in group_of and right in group_of:
                components.keep_apart(group_of[left], group_of[right])
    edges = _pinned_edges(con)
    for pinned_grp, other_grp in edges:
        components.union(pinned_grp, other_grp)
    return Groups(
        count=count, components=components, taken_out=taken_out, deterministic_edges=len(edges)
    )


# Two names that may be one person's, typed differently (the vote inside an ID's records).
_SIMILAR = """(o.name_s = v.name_s OR o.name_py = v.name_py OR o.fuzzy = v.fuzzy
    OR o.shape = v.shape OR (greatest(length(o.name_s), length(v.name_s)) >= 3
        AND (one_char_differs(o.name_s, v.name_s) OR one_char_dropped(o.name_s, v.name_s)
            OR one_char_dropped(v.name_s, o.name_s))))"""


def _take_out(con: duckdb.DuckDBPyConnection) -> int:
    """The table ``untrusted`` (unique_id, why) of records whose valid ID is not used as an
    anchor: ``foreign`` (another person's number) or ``mistyped`` (a typo of another's)."""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE untrusted AS
        WITH valid AS (
            SELECT unique_id, id_number, name_s, name_py, fuzzy, shape, pinned,
                dob IS NULL OR dob = id_dob AS fits, dob IS NOT NULL AND dob <> id_dob AS off
            FROM rec WHERE id_valid
        ),
        judged AS (
            SELECT v.unique_id, v.id_number, v.off, v.pinned, v.name_s, v.name_py,
                count(o.unique_id) FILTER (WHERE o.name_s IS NOT NULL) AS named_others,
                count(o.unique_id) FILTER (WHERE o.fits) AS fitting_others,
                count(o.unique_id) FILTER (WHERE {_SIMILAR}) AS similar_others,
                count(o.unique_id) FILTER (WHERE o.fits AND {_SIMILAR}) AS similar_fitting,
                count(o.unique_id) AS others
            FROM valid v LEFT JOIN valid o
                ON o.id_number = v.id_number AND o.unique_id <> v.unique_id
            GROUP BY ALL
        ),
        foreign_ AS (
            SELECT unique_id FROM judged
            WHERE NOT pinned AND name_s IS NOT NULL AND (
                -- its birth date is not its ID's, and its name none of the ID's others'
                (off AND similar_fitting = 0 AND (fitting_others > 0 OR similar_others = 0))
                -- or it is the odd one out among records that agree on another name
                OR (named_others >= 2 AND similar_others = 0))
        ),
        lone AS (
            SELECT j.* FROM judged j ANTI JOIN foreign_ f USING (unique_id)
            WHERE j.others = 0 AND NOT j.pinned AND j.name_s IS NOT NULL
        ),
        near_ids AS (
            SELECT l.unique_id, l.id_number AS lone_id, o.id_number AS other_id
            FROM lone l JOIN valid o
                ON o.name_s = l.name_s AND substr(o.id_number, 7, 8) = substr(l.id_number, 7, 8)
                AND o.id_number <> l.id_number
            UNION ALL
            SELECT l.unique_id, l.id_number, o.id_number
            FROM lone l JOIN valid o
                ON o.name_s = l.name_s
                AND substr(o.id_number, 1, 6) = substr(l.id_number, 1, 6)
                AND substr(o.id_number, 15, 3) = substr(l.id_number, 15, 3)
                AND o.id_number <> l.id_number
        )
        SELECT unique_id, 'foreign' AS why FROM foreign_
        UNION
        SELECT DISTINCT unique_id, 'mistyped' AS why FROM near_ids
        WHERE damerau_levenshtein(substr(lone_id, 1, 17), substr(other_id, 1, 17)) = 1
        """  # noqa: S608
    )
    return duck.count(con, "SELECT count(*) FROM untrusted")


def _pinned_edges(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int]]:
    """(pinned group, ID or identifier group) for every ID and identifier a pinned person's
    records hold that unpinned records hold too; the pinned person with most records of that
    number first (ties: the lower person id), so it wins a number that two persons hold."""
    rows = con.execute(
        """
        WITH held AS (
            SELECT grp, person_id, coalesce(anchor_id, id_kind || ':' || id_number) AS number,
                count(*) AS records
            FROM rec
            WHERE pinned AND (anchor_id IS NOT NULL
                OR (id_kind IS NOT NULL AND id_kind <> 'resident_id'))
            GROUP BY ALL
        ),
        unpinned AS (
            SELECT DISTINCT grp, coalesce(anchor_id, id_kind || ':' || id_number) AS number
            FROM rec
            WHERE NOT pinned AND (anchor_id IS NOT NULL
                OR (id_kind IS NOT NULL AND id_kind <> 'resident_id'))
        )
        SELECT h.grp, u.grp FROM held h JOIN unpinned u USING (number)
        ORDER BY h.number, h.records DESC, h.person_id
        """
    ).fetchall()
    return [(int(a), int(b)) for a, b in rows]
