"""Pair precision, recall, F1 and the exact-person share, on examples small enough to count
by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from renfang.synth.extracts.metrics import (
    Key,
    metrics_from_files,
    pair_metrics,
    wrong_by_kind,
    wrong_records,
)


def truth_of(persons: dict[str, list[str]]) -> list[tuple[Key, str]]:
    return [(("s", record), person) for person, records in persons.items() for record in records]


def clusters_of(clusters: dict[str, list[str]]) -> dict[Key, str]:
    return {("s", record): cluster for cluster, records in clusters.items() for record in records}


# Three people: A has three records, B two, C one.
TRUTH = truth_of({"A": ["r1", "r2", "r3"], "B": ["r4", "r5"], "C": ["r6"]})


def test_a_prediction_that_splits_one_person_and_merges_two() -> None:
    # Given A split over X and Y, and A's third record merged with B in Y.
    predicted = clusters_of({"X": ["r1", "r2"], "Y": ["r3", "r4", "r5"], "Z": ["r6"]})

    metrics = pair_metrics(TRUTH, predicted)

    # True pairs: A 3 + B 1 = 4. Predicted pairs: X 1 + Y 3 = 4. Correct: r1-r2 and r4-r5.
    assert (metrics.true_pairs, metrics.predicted_pairs, metrics.correct_pairs) == (4, 4, 2)
    assert metrics.precision == pytest.approx(0.5)
    assert metrics.recall == pytest.approx(0.5)
    assert metrics.f1 == pytest.approx(0.5)
    # Only C came out exactly right: A is spread over two persons, B shares Y with r3.
    assert metrics.exact_persons == 1
    assert metrics.exact_share == pytest.approx(1 / 3)
    assert (metrics.records, metrics.true_persons, metrics.predicted_persons) == (6, 3, 3)
    assert metrics.largest_predicted == 3


def test_a_perfect_prediction_scores_one_whatever_the_labels() -> None:
    predicted = clusters_of({"17": ["r1", "r2", "r3"], "4": ["r4", "r5"], "99": ["r6"]})

    metrics = pair_metrics(TRUTH, predicted)

    assert metrics.precision == metrics.recall == metrics.f1 == 1.0
    assert metrics.exact_share == 1.0


def test_one_giant_person_has_full_recall_and_poor_precision() -> None:
    predicted = clusters_of({"G": ["r1", "r2", "r3", "r4", "r5", "r6"]})

    metrics = pair_metrics(TRUTH, predicted)

    assert metrics.recall == 1.0
    assert metrics.predicted_pairs == 15
    assert metrics.precision == pytest.approx(4 / 15)
    assert metrics.f1 == pytest.approx(2 * (4 / 15) / (1 + 4 / 15))
    assert metrics.exact_persons == 0


def test_all_singletons_link_nothing() -> None:
    predicted = clusters_of({f"c{i}": [f"r{i}"] for i in range(1, 7)})

    metrics = pair_metrics(TRUTH, predicted)

    assert metrics.predicted_pairs == 0
    assert metrics.precision == 1.0  # nothing claimed, nothing wrong
    assert metrics.recall == 0.0
    assert metrics.f1 == 0.0
    assert metrics.exact_persons == 1  # C, alone in truth and in the prediction


def test_a_record_the_prediction_lacks_is_a_person_of_its_own() -> None:
    predicted = clusters_of({"X": ["r1", "r2"], "Y": ["r4", "r5"], "Z": ["r6"]})  # no r3

    metrics = pair_metrics(TRUTH, predicted)

    assert metrics.unlinked == 1
    assert metrics.correct_pairs == 2
    assert metrics.recall == pytest.approx(2 / 4)
    assert metrics.precision == 1.0
    assert metrics.exact_persons == 2  # B and C


def test_predicted_records_the_truth_does_not_know_are_left_out() -> None:
    predicted = clusters_of({"X": ["r1", "r2", "r3", "register-1"], "Y": ["r4", "r5"]})
    predicted[("s", "r6")] = "Z"

    metrics = pair_metrics(TRUTH, predicted)

    assert metrics.f1 == 1.0
    assert metrics.records == 6


def test_records_of_different_sources_with_the_same_id_are_different_records() -> None:
    truth = [(("police", "1"), "A"), (("health", "1"), "B")]
    predicted = {("police", "1"): "X", ("health", "1"): "Y"}

    metrics = pair_metrics(truth, predicted)

    assert metrics.true_pairs == metrics.predicted_pairs == 0
    assert metrics.exact_persons == 2


def test_metrics_from_a_truth_file_and_a_links_export(tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    truth.write_text(
        "source,record_id,person_key\npolice,R1,P1\nhealth,H1,P1\nhealth,H2,P2\neducation,L1,P2\n",
        encoding="utf-8",
    )
    links = tmp_path / "links.csv"
    links.write_text(
        "source,record_id,person_id\n"
        "police,R1,10\nhealth,H1,10\nhealth,H2,11\neducation,L1,12\nregister,x,10\n",
        encoding="utf-8",
    )

    metrics = metrics_from_files(truth, links)

    assert (metrics.precision, metrics.recall) == (1.0, 0.5)
    assert metrics.as_dict()["f1"] == pytest.approx(2 / 3, abs=1e-6)
    assert metrics.exact_persons == 1


def test_wrong_records_are_those_split_off_or_joined_to_someone_else() -> None:
    # A's r3 went to B's person; C is right.
    predicted = clusters_of({"X": ["r1", "r2"], "Y": ["r3", "r4", "r5"], "Z": ["r6"]})

    wrong = wrong_records(TRUTH, predicted)

    assert wrong == {("s", "r3")}


def test_wrong_records_by_kind_of_error(tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    truth.write_text(
        "source,record_id,person_key\ns,r1,A\ns,r2,A\ns,r3,A\ns,r4,B\ns,r5,B\ns,r6,C\n",
        encoding="utf-8",
    )
    clusters = tmp_path / "links.csv"
    clusters.write_text(
        "source,record_id,person_id\ns,r1,1\ns,r2,1\ns,r3,2\ns,r4,2\ns,r5,2\ns,r6,3\n",
        encoding="utf-8",
    )
    noise = tmp_path / "noise.csv"
    noise.write_text(
        "source,record_id,kinds\ns,r3,missing_id homophone\ns,r4,homophone\n", encoding="utf-8"
    )

    found = wrong_by_kind(truth, clusters, noise)

    assert found["missing_id"] == {"records": 1, "wrong": 1}
    assert found["homophone"] == {"records": 2, "wrong": 1}
    assert found["none"] == {"records": 4, "wrong": 0}
    assert list(found)[-1] == "none"
