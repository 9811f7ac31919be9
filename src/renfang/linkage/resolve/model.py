"""Stage 3 of ``renfang resolve``: the Fellegi–Sunter model (Splink 5 on DuckDB) that weighs
the candidate pairs.

The comparisons are what Chinese registers need (ADR 0014): names compared as simplified
characters, as pinyin (homophones such as 伟/玮 agree), as folded pinyin or character shape
(near-homophones, look-alikes such as 己/已), and with one character dropped; birth dates exact,
day and month swapped, or one part off; the region and sequence of ID numbers (never their
birth-date part: the birth date is compared once, on its own); sex; phone; where the person
lives and holds hukou. Term frequencies adjust agreement on common names, birth dates and
shared phones.

Training needs no clerk: the records that share a valid resident ID are labelled matches, so
the m probabilities come from them (``estimate_m_from_pairwise_labels``); u probabilities come
from random pairs. The ID comparison's m cannot be learnt from pairs that agree on their ID by
construction; it is set from the kinds of typing error (one digit, two swapped, the check
character) and kept fixed.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
from splink import DuckDBAPI, Linker

from renfang.linkage.resolve import duck

logger = logging.getLogger(__name__)

# Splink's input columns (a view over ``rec``).
INPUT_COLUMNS = (
    "unique_id",
    "name_s",
    "name_py",
    "fuzzy",
    "shape",
    "dob",
    "sex",
    "id_rest",
    "phone",
    "res_house",
    "res_addr",
    "res_div",
    "hk_div",
    "hk_addr",
)

# Comparisons whose exact agreement is adjusted by how common the value is.
TF_COMPARISONS = frozenset({"name", "birth_date", "phone"})
# The person's own identity. Families share the rest (phone, house, hukou): a link by weights
# needs these to agree more than they disagree (their weights summed at least IDENTITY_FLOOR),
# so that a shared home never makes a child its parent or a twin the other twin.
IDENTITY_COMPARISONS = ("name", "birth_date", "sex", "id_number")
IDENTITY_FLOOR = 0.0


def identity_weight_sql(alias: str) -> str:
    parts = [f"coalesce({alias}.mw_{name}, 0)" for name in IDENTITY_COMPARISONS]
    parts += [
        f"coalesce({alias}.mw_tf_adj_{name}, 0)"
        for name in IDENTITY_COMPARISONS
        if name in TF_COMPARISONS
    ]
    return " + ".join(parts)


_CROSS = "(length({a}) >= 6 AND length({b}) >= 6 AND (ends_with({a}, {b}) OR ends_with({b}, {a})))"
_SUFFIX = (
    "(length({c}_l) >= 6 AND length({c}_r) >= 6 AND "
    "(ends_with({c}_l, {c}_r) OR ends_with({c}_r, {c}_l)))"
)


def _null(*columns: str) -> dict[str, Any]:
    either = " OR ".join(
        "(" + " AND ".join(f"{c}_{side} IS NULL" for c in columns) + ")" for side in "lr"
    )
    return {"sql_condition": either, "label_for_charts": "unknown", "is_null_level": True}


def _level(sql: str, label: str, m: float, u: float, **extra: Any) -> dict[str, Any]:
    """A level with its prior m and u: what is believed before the data is counted (and what
    a small register, with few pairs to learn from, mostly keeps)."""
    return {
        "sql_condition": sql,
        "label_for_charts": label,
        "m_probability": m,
        "u_probability": u,
        **extra,
    }


def _else(m: float, u: float, **extra: Any) -> dict[str, Any]:
    return _level("ELSE", "different", m, u, **extra)


def comparisons() -> list[dict[str, Any]]:
    """The comparisons, each a list of levels from the strongest agreement down, with prior
    m and u probabilities."""
    return [
        {
            "output_column_name": "name",
            "comparison_levels": [
                _null("name_s"),
                _level(
                    "name_s_l = name_s_r",
                    "same characters",
                    0.95,
                    5e-4,
                    tf_adjustment_column="name_s",
                ),
                _level("name_py_l = name_py_r", "same pinyin", 0.015, 3e-4),
                _level(
                    "fuzzy_l = fuzzy_r OR shape_l = shape_r",
                    "similar sound or look-alike",
                    0.008,
                    5e-4,
                ),
                _level(
                    "least(length(name_s_l), length(name_s_r)) >= 2 AND "
                    "(one_char_dropped(name_s_l, name_s_r) "
                    "OR one_char_dropped(name_s_r, name_s_l))",
                    "one character dropped",
                    0.004,
                    2e-4,
                ),
                _level(
                    "length(name_s_l) >= 3 AND one_char_differs(name_s_l, name_s_r)",
                    "one character differs",
                    0.005,
                    1e-3,
                ),
                _else(0.018, 0.9975),
            ],
        },
        {
            "output_column_name": "birth_date",
            "comparison_levels": [
                _null("dob"),
                _level("dob_l = dob_r", "same", 0.97, 5e-5, tf_adjustment_column="dob"),
                _level(
                    "year(dob_l) = year(dob_r) AND month(dob_l) = day(dob_r) "
                    "AND day(dob_l) = month(dob_r)",
                    "day and month swapped",
                    0.003,
                    5e-6,
                ),
                _level(
                    "(CASE WHEN year(dob_l) = year(dob_r) THEN 1 ELSE 0 END"
                    " + CASE WHEN month(dob_l) = month(dob_r) THEN 1 ELSE 0 END"
                    " + CASE WHEN day(dob_l) = day(dob_r) THEN 1 ELSE 0 END) = 2",
                    "one part differs",
                    0.01,
                    2e-3,
                ),
                _else(0.017, 0.998),
            ],
        },
        {
            "output_column_name": "sex",
            "comparison_levels": [
                _null("sex"),
                _level("sex_l = sex_r", "same", 0.995, 0.5),
                _else(0.005, 0.5),
            ],
        },
        {
            "output_column_name": "id_number",
            "comparison_levels": [
                _null("id_rest"),
                # m fixed from the kinds of typing error (module docstring).
                _level(
                    "id_rest_l = id_rest_r",
                    "same region and sequence",
                    0.6,
                    1e-4,
                    fix_m_probability=True,
                ),
                _level(
                    "damerau_levenshtein(id_rest_l, id_rest_r) = 1",
                    "one digit differs or two swapped",
                    0.36,
                    2e-3,
                    fix_m_probability=True,
                ),
                _else(0.04, 0.9979, fix_m_probability=True),
            ],
        },
        {
            "output_column_name": "phone",
            "comparison_levels": [
                _null("phone"),
                _level("phone_l = phone_r", "same", 0.7, 1e-5, tf_adjustment_column="phone"),
                _else(0.3, 0.99999),
            ],
        },
        {
            "output_column_name": "residence",
            "comparison_levels": [
                _null("res_div", "res_house", "res_addr", "hk_addr"),
                _level(
                    "res_house_l = res_house_r OR " + _SUFFIX.format(c="res_addr"),
                    "same house",
                    0.6,
                    1e-4,
                ),
                _level(
                    _CROSS.format(a="res_addr_l", b="hk_addr_r")
                    + " OR "
                    + _CROSS.format(a="res_addr_r", b="hk_addr_l"),
                    "lives at the other's hukou address",
                    0.1,
                    1e-4,
                ),
                _level(
                    "length(res_div_l) >= 12 AND res_div_l = res_div_r",
                    "same committee",
                    0.2,
                    0.02,
                ),
                _level(
                    "substr(res_div_l, 1, 9) = substr(res_div_r, 1, 9)", "same street", 0.1, 0.1
                ),
                _level(
                    "substr(res_div_l, 1, 6) = substr(res_div_r, 1, 6)", "same county", 0.05, 0.5
                ),
                _level(
                    "(res_div_l IS NULL AND res_house_l IS NULL AND res_addr_l IS NULL) "
                    "OR (res_div_r IS NULL AND res_house_r IS NULL AND res_addr_r IS NULL)",
                    "not known on one side",
                    0.1,
                    0.1,
                ),
                _else(0.05, 0.2798),
            ],
        },
        {
            "output_column_name": "hukou",
            "comparison_levels": [
                _null("hk_div", "hk_addr"),
                _level(_SUFFIX.format(c="hk_addr"), "same address", 0.6, 1e-4),
                _level(
                    "least(length(hk_div_l), length(hk_div_r)) >= 9 AND "
                    "(starts_with(hk_div_l, hk_div_r) OR starts_with(hk_div_r, hk_div_l))",
                    "same division",
                    0.3,
                    0.02,
                ),
                _level("substr(hk_div_l, 1, 6) = substr(hk_div_r, 1, 6)", "same county", 0.05, 0.3),
                _else(0.05, 0.6799),
            ],
        },
    ]


@dataclass
class Model:
    """The trained model as stored with a resolve run: per comparison and level, m, u and the
    match weight; the prior."""

    prior: float
    comparisons: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "probability_two_random_records_match": self.prior,
            "comparisons": [
                {
                    "field": comparison["field"],
                    "levels": [
                        {
                            "level": level["level"],
                            "m": round(level["m"], 8),
                            "u": round(level["u"], 10),
                            "weight": round(level["weight"], 3),
                        }
                        for level in comparison["levels"]
                    ],
                }
                for comparison in self.comparisons
            ],
        }

    def weights_sql(self, alias: str) -> str:
        """SQL building {field: {"weight": w, "level": label}} from a row of Splink's
        predictions (which carry each comparison's weight, not its level: the level is the
        one whose trained weight that is)."""
        parts = []
        for comparison in self.comparisons:
            name = comparison["field"]
            cases = " ".join(
                f"WHEN abs({alias}.mw_{name} - ({level['weight']!r})) < 1e-9 "
                f"THEN '{_quoted(level['level'])}'"
                for level in comparison["levels"]
            )
            tf = f" + coalesce({alias}.mw_tf_adj_{name}, 0)" if name in TF_COMPARISONS else ""
            parts.append(
                f"'{name}', json_object('weight', round({alias}.mw_{name}{tf}, 2), "
                f"'level', CASE {cases} ELSE 'unknown' END)"
            )
        return "json_object(" + ", ".join(parts) + ")"


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def level_labels() -> dict[str, list[str]]:
    """For each comparison, its levels' labels from the strongest agreement down."""
    return {
        comparison["output_column_name"]: [
            level["label_for_charts"] for level in _counted(comparison)
        ]
        for comparison in comparisons()
    }


def _counted(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    return [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]


# Pseudo-pairs the priors weigh: little against the millions of pairs of a district, most of
# what a register of a few hundred records has.
PRIOR_PAIRS = 1000.0


def _probe(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings whose weights name the levels: the n-th level from the strongest down weighs
    exactly -(n + 1) (Splink's predictions carry weights, not levels); no term frequencies."""
    comparisons_ = []
    for comparison in settings["comparisons"]:
        levels = []
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                levels.append(level)
                continue
            n = len(levels) - 1
            probe = {
                key: value
                for key, value in level.items()
                if key not in ("tf_adjustment_column", "fix_m_probability")
            }
            levels.append({**probe, "m_probability": 0.5 / 2 ** (n + 1), "u_probability": 0.5})
        comparisons_.append({**comparison, "comparison_levels": levels})
    return {**settings, "comparisons": comparisons_}


def _estimate(
    linker_input: Any,
    db_api: DuckDBAPI,
    settings: dict[str, Any],
    pairs_table: str,
) -> dict[str, dict[int, int]]:
    """How many of the pairs in ``pairs_table`` fall into each level (numbered from the
    strongest, 0, down) of each comparison; Splink computes the comparison vectors."""
    linker = Linker(linker_input, _probe(settings), log_level=None, validate_settings=False)
    pairs = db_api.register(pairs_table, dataset_display_name=f"{pairs_table}_pairs")
    linker.table_management.register_blocked_pairs_for_predict(pairs)
    predicted = linker.inference.predict(warning_mode="never")
    names = [comparison["output_column_name"] for comparison in settings["comparisons"]]
    selects = " UNION ALL ".join(
        f"SELECT '{name}' AS name, round(-mw_{name})::INTEGER - 1 AS level, count(*) AS n "
        f"FROM {predicted.physical_name} WHERE mw_{name} < 0 GROUP BY 2"
        for name in names
    )
    counts: dict[str, dict[int, int]] = {name: {} for name in names}
    for name, level, n in db_api.duckdb_con.execute(selects).fetchall():
        counts[name][int(level)] = int(n)
    predicted.drop_table_from_database_and_remove_from_cache()
    return counts


def _smoothed(
    settings: dict[str, Any], counts: dict[str, dict[int, int]], key: str
) -> dict[str, Any]:
    """Settings whose ``key`` (m_probability or u_probability) is the counted share of each
    level, pulled towards its prior by ``PRIOR_PAIRS`` pseudo-pairs; fixed levels unchanged."""
    comparisons_ = []
    fixed = "fix_m_probability" if key == "m_probability" else "fix_u_probability"
    for comparison in settings["comparisons"]:
        seen = counts.get(comparison["output_column_name"], {})
        total = sum(seen.values())
        new_levels = []
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level") or level.get(fixed):
                new_levels.append(level)
                continue
            n = len(new_levels) - 1
            share = (seen.get(n, 0) + PRIOR_PAIRS * level[key]) / (total + PRIOR_PAIRS)
            new_levels.append({**level, key: share})
        comparisons_.append({**comparison, "comparison_levels": new_levels})
    return {**settings, "comparisons": comparisons_}


def _trained(settings: dict[str, Any], prior: float) -> Model:
    result: list[dict[str, Any]] = []
    for comparison in settings["comparisons"]:
        levels = []
        for level in _counted(comparison):
            m, u = level["m_probability"], level["u_probability"]
            levels.append(
                {"level": level["label_for_charts"], "m": m, "u": u, "weight": math.log2(m / u)}
            )
        result.append({"field": comparison["output_column_name"], "levels": levels})
    return Model(prior=prior, comparisons=result)


def _term_frequencies(
    con: duckdb.DuckDBPyConnection, db_api: DuckDBAPI, linker: Linker, settings: dict[str, Any]
) -> None:
    """How common each name, birth date and phone is among persons (components, not records:
    a person recorded by eight departments does not make their name common), pulled towards
    the exact level's u by ``PRIOR_PAIRS``; registered with Splink for its adjustments."""
    persons = float(duck.count(con, "SELECT count(DISTINCT comp) FROM rec"))
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            column = level.get("tf_adjustment_column")
            if not column:
                continue
            u = float(level["u_probability"])
            con.execute(
                f"""
                CREATE OR REPLACE TABLE tf_{column} AS
                SELECT {column}, (count(DISTINCT comp) + {PRIOR_PAIRS * u!r})
                    / ({persons!r} + {PRIOR_PAIRS!r}) AS tf_{column}
                FROM rec WHERE {column} IS NOT NULL GROUP BY 1
                """  # noqa: S608
            )
            linker.table_management.register_term_frequency_lookup(
                db_api.register(f"tf_{column}", dataset_display_name=f"tf_{column}"), column
            )


def score(
    con: duckdb.DuckDBPyConnection,
    *,
    prior: float,
    labels_table: str,
    random_table: str,
    pairs_table: str,
    minimum_probability: float,
) -> Model:
    """Learn m from ``labels_table`` (pairs of records known to be one person) and u from
    ``random_table`` (random pairs not known to be one), then weigh the candidate pairs of
    ``pairs_table`` into the DuckDB table ``scored`` (those at or above
    ``minimum_probability``). Each pairs table has match_key, join_key_l, join_key_r."""
    db_api = DuckDBAPI(connection=con)
    records = db_api.register("splink_input", dataset_display_name="records")
    settings: dict[str, Any] = {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": prior,
        "comparisons": comparisons(),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": True,
    }
    settings = _smoothed(
        settings, _estimate(records, db_api, settings, labels_table), "m_probability"
    )
    settings = _smoothed(
        settings, _estimate(records, db_api, settings, random_table), "u_probability"
    )
    linker = Linker(records, settings, log_level=None)
    _term_frequencies(con, db_api, linker, settings)
    pairs = db_api.register(pairs_table, dataset_display_name="candidate_pairs")
    linker.table_management.register_blocked_pairs_for_predict(pairs)
    predicted = linker.inference.predict(
        threshold_match_probability=minimum_probability, warning_mode="never"
    )
    con.execute(f"CREATE OR REPLACE TABLE scored AS SELECT * FROM {predicted.physical_name}")
    predicted.drop_table_from_database_and_remove_from_cache()
    return _trained(settings, prior)
