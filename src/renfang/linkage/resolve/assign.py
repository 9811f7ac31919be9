"""Stage 4 of ``renfang resolve``: weighed pairs → clusters → persons.

Edges at or above the link threshold join clusters best first, under the guards of
``clusters.Components``. Each cluster keeps the person most of its records already had (ties:
the lowest id; a pinned cluster its pinned person); a cluster without one takes over an
unused person who holds its ID number, or gets a new person. A person left without records is
merged into the person that most of its records went to. Pairs between the review and the link
threshold whose clusters could still be one person go to the review queue.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from renfang.core import bulk
from renfang.linkage.resolve import model
from renfang.linkage.resolve.clusters import Components
from renfang.people.models import IdType, Person

_CHUNK = 10_000  # values per query (SQLite takes at most 32766 parameters)


@dataclass
class ReviewCandidate:
    left: int
    right: int


@dataclass
class NewPerson:
    """A cluster that needs a new person: known by the ID number it is anchored on (blank
    when another person holds it); the golden refresh writes the rest."""

    root: int
    id_number: str


@dataclass
class Assignment:
    person_of_root: dict[int, int] = field(default_factory=dict)
    new_persons: list[NewPerson] = field(default_factory=list)
    merges: list[tuple[int, int, list[int]]] = field(default_factory=list)  # merged, survivor
    linked_by_weights: int = 0
    refused: int = 0
    review: list[ReviewCandidate] = field(default_factory=list)


def cluster(
    con: duckdb.DuckDBPyConnection,
    components: Components,
    *,
    link_threshold: float,
    decided: set[tuple[int, int]],
) -> Assignment:
    """Join components along the weighed pairs; the tables ``roots`` (grp → root) and
    ``accepted`` (the edges that joined)."""
    outcome = Assignment()
    rows = con.execute(
        f"""
        SELECT s.unique_id_l, s.unique_id_r, s.match_probability, l.grp, r.grp
        FROM scored s
        JOIN rec l ON l.unique_id = s.unique_id_l
        JOIN rec r ON r.unique_id = s.unique_id_r
        WHERE {model.identity_weight_sql("s")} >= {model.IDENTITY_FLOOR!r}
        ORDER BY s.match_probability DESC, s.unique_id_l, s.unique_id_r
        """  # noqa: S608
    ).fetchall()
    accepted_l: list[int] = []
    accepted_r: list[int] = []
    maybe: list[tuple[int, int, int, int]] = []
    refused_before = components.refused
    for left, right, probability, left_grp, right_grp in rows:
        if probability >= link_threshold:
            if components.find(left_grp) != components.find(right_grp) and components.union(
                left_grp, right_grp
            ):
                accepted_l.append(left)
                accepted_r.append(right)
        elif (left, right) not in decided:
            maybe.append((left, right, left_grp, right_grp))
    outcome.refused = components.refused - refused_before
    # One pair per two clusters that might be one person: the most likely.
    seen: set[tuple[int, int]] = set()
    for left, right, left_grp, right_grp in maybe:
        root_l, root_r = components.find(left_grp), components.find(right_grp)
        clusters = (min(root_l, root_r), max(root_l, root_r))
        if root_l != root_r and clusters not in seen and components.allowed(root_l, root_r):
            seen.add(clusters)
            outcome.review.append(ReviewCandidate(left, right))
    find = components.find
    size = len(components.parent)
    con.register(
        "roots_arrow",
        pa.table(
            {
                "grp": pa.array(range(size), pa.int64()),
                "root": pa.array([find(g) for g in range(size)], pa.int64()),
            }
        ),
    )
    con.execute("CREATE OR REPLACE TABLE roots AS SELECT * FROM roots_arrow")
    con.unregister("roots_arrow")
    con.register(
        "accepted_arrow",
        pa.table({"l": pa.array(accepted_l, pa.int64()), "r": pa.array(accepted_r, pa.int64())}),
    )
    con.execute("CREATE OR REPLACE TABLE accepted AS SELECT * FROM accepted_arrow")
    con.unregister("accepted_arrow")
    return outcome


def rules(con: duckdb.DuckDBPyConnection, trained: model.Model) -> None:
    """The table ``final``: each record's cluster (root), how it came to be in it (rule) and
    why (detail, JSON text; ``id_set_aside``: "foreign" for a record whose valid ID is another
    person's, "mistyped" for one whose valid ID is a typing error of another's)."""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE final AS
        WITH r AS (
            SELECT rec.unique_id, rec.person_id, rec.link_rule, rec.pinned, rec.anchor_id,
                rec.id_kind, rec.id_number, rec.id_doubt, roots.root
            FROM rec JOIN roots USING (grp)
        ),
        shares AS (
            SELECT unique_id,
                count(*) OVER (PARTITION BY root) AS records,
                CASE WHEN anchor_id IS NULL THEN 0
                    ELSE count(*) OVER (PARTITION BY root, anchor_id) END AS same_id,
                CASE WHEN id_kind IS NULL OR id_kind = 'resident_id' THEN 0
                    ELSE count(*) OVER (PARTITION BY root, id_kind, id_number) END AS same_other
            FROM r
        ),
        ends AS (
            SELECT l AS unique_id, r AS other FROM accepted
            UNION ALL SELECT r AS unique_id, l AS other FROM accepted
        ),
        best AS (
            SELECT e.unique_id, first(e.other ORDER BY s.match_probability DESC, e.other) AS other,
                max(s.match_probability) AS probability
            FROM ends e JOIN scored s
                ON s.unique_id_l = least(e.unique_id, e.other)
                AND s.unique_id_r = greatest(e.unique_id, e.other)
            GROUP BY e.unique_id
        ),
        ruled AS (
            SELECT r.*, b.other, CASE
                WHEN r.pinned THEN r.link_rule
                WHEN sh.same_id >= 2 THEN 'id'
                WHEN sh.same_other >= 2 THEN 'identifier'
                WHEN b.other IS NOT NULL THEN 'probabilistic'
                WHEN sh.records = 1 THEN 'singleton'
                ELSE 'probabilistic' END AS rule,
                sh.same_id, r.id_kind AS kind
            FROM r JOIN shares sh USING (unique_id) LEFT JOIN best b USING (unique_id)
        )
        SELECT u.unique_id, u.root, u.person_id AS old_person, u.link_rule AS old_rule,
            u.pinned, u.rule,
            CASE WHEN u.id_doubt IS NOT NULL THEN json_merge_patch(detail_core,
                json_object('id_set_aside', u.id_doubt))::VARCHAR
                ELSE detail_core END AS detail
        FROM (
        SELECT u.*, CASE u.rule
                WHEN 'id' THEN json_object('rule', 'id', 'records', u.same_id)::VARCHAR
                WHEN 'identifier' THEN json_object('rule', 'identifier', 'id_type', u.kind)::VARCHAR
                WHEN 'probabilistic' THEN CASE WHEN s.unique_id_l IS NULL
                    THEN json_object('rule', 'probabilistic')::VARCHAR
                    ELSE json_object('rule', 'probabilistic', 'with', u.other,
                        'probability', round(s.match_probability, 6),
                        'match_weight', round(s.match_weight, 2),
                        'weights', {trained.weights_sql("s")})::VARCHAR END
                WHEN 'singleton' THEN json_object('rule', 'singleton')::VARCHAR
                END AS detail_core
        FROM ruled u
        LEFT JOIN scored s ON u.other IS NOT NULL
            AND s.unique_id_l = least(u.unique_id, u.other)
            AND s.unique_id_r = greatest(u.unique_id, u.other)
        ) u
        """  # noqa: S608
    )


def persons(con: duckdb.DuckDBPyConnection, components: Components, outcome: Assignment) -> None:
    """Decide each cluster's person (``outcome.person_of_root``, new persons with a
    placeholder key below zero until they have ids) and the persons merged away."""
    taken: set[int] = set()
    for root, person_id in components.person.items():
        outcome.person_of_root[components.find(root)] = person_id
        taken.add(person_id)
    held = con.execute(
        """
        SELECT root, old_person, count(*) AS records FROM final
        WHERE old_person IS NOT NULL GROUP BY ALL
        ORDER BY records DESC, old_person, root
        """
    ).fetchall()
    gone = set(Person.objects.filter(merged_into__isnull=False).values_list("id", flat=True))
    for root, person_id, _ in held:
        if root in outcome.person_of_root or person_id in taken or person_id in gone:
            continue
        outcome.person_of_root[root] = person_id
        taken.add(person_id)
    _new_persons(con, outcome, taken)
    _left_without_records(con, outcome, held, taken | gone)


def _new_persons(con: duckdb.DuckDBPyConnection, outcome: Assignment, taken: set[int]) -> None:
    """Clusters without a person: an unused person holding the cluster's ID number, else a
    new person, known by the cluster's ID number (left blank when another person holds it):
    the golden refresh that follows writes and audits the rest of who it is. The number is
    linkage's to give: a record of the cluster may bear another person's (a child's record
    with a parent's ID, set aside by the groups), which the golden record would take."""
    unassigned = [
        row
        for row in con.execute(
            """
            WITH ids AS (
                SELECT f.root, r.anchor_id, count(*) AS n
                FROM final f JOIN rec r USING (unique_id)
                WHERE r.anchor_id IS NOT NULL GROUP BY ALL
            ),
            best_id AS (
                SELECT root, first(anchor_id ORDER BY n DESC, anchor_id) AS id_number
                FROM ids GROUP BY root
            )
            SELECT DISTINCT f.root, b.id_number
            FROM final f LEFT JOIN best_id b USING (root)
            ORDER BY f.root
            """
        ).fetchall()
        if row[0] not in outcome.person_of_root
    ]
    holders = _holders([row[1] for row in unassigned if row[1]])
    used_ids = set(holders)
    for root, best_id in unassigned:
        holder = holders.get(best_id) if best_id else None
        if holder is not None and holder not in taken:
            outcome.person_of_root[root] = holder
            taken.add(holder)
            continue
        id_number = "" if best_id in used_ids else best_id or ""
        used_ids.add(id_number)
        outcome.person_of_root[root] = -1 - len(outcome.new_persons)
        outcome.new_persons.append(NewPerson(root=root, id_number=id_number))


def _left_without_records(
    con: duckdb.DuckDBPyConnection,
    outcome: Assignment,
    held: list[tuple[int, int, int]],
    kept: set[int],
) -> None:
    """A person left without records is merged into the person most of its records went to."""
    went: dict[int, Counter[int]] = {}
    for root, person_id, count in held:
        if person_id not in kept:
            went.setdefault(person_id, Counter())[root] += count
    if not went:
        return
    records_of: dict[int, list[int]] = {}
    for unique_id, person_id in con.execute(
        "SELECT unique_id, old_person FROM final WHERE list_contains(?, old_person)",
        [sorted(went)],
    ).fetchall():
        records_of.setdefault(person_id, []).append(unique_id)
    for person_id, roots in sorted(went.items()):
        best_root = min(roots.items(), key=lambda item: (-item[1], item[0]))[0]
        outcome.merges.append(
            (person_id, outcome.person_of_root[best_root], sorted(records_of[person_id]))
        )


def _holders(id_numbers: list[str]) -> dict[str, int]:
    """Persons (not merged away) who hold these resident ID numbers."""
    found: dict[str, int] = {}
    for offset in range(0, len(id_numbers), _CHUNK):
        rows = bulk.select_in(
            Person,
            ["id_number", "id", "id_type", "merged_into_id"],
            "id_number",
            id_numbers[offset : offset + _CHUNK],
        )
        for number, person_id, id_type, merged_into in rows:
            if id_type == IdType.RESIDENT_ID and merged_into is None:
                found[number] = person_id
    return found
