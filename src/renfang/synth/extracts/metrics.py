"""How well records were put together, against the truth: pair precision, recall and F1, and
the share of true persons that came out exactly right.

A pair is two records of one person. Predicted pairs are the pairs inside each predicted
person, true pairs those inside each true person, correct pairs those inside both. They are
counted from cluster sizes (n records make n(n-1)/2 pairs), never listed: a million people's
records make far too many pairs to list, and one false giant cluster would make billions.
DOMAIN.md: "check clusters, not only pairs" — hence the exact-person share: a true person is
exactly right when its records form one predicted person holding nothing else.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

Key = tuple[str, str]  # (source, record_id)


def _pairs(size: int) -> int:
    return size * (size - 1) // 2


@dataclass(frozen=True)
class PairMetrics:
    records: int  # records of the truth
    unlinked: int  # of those, records the prediction does not know (each its own person)
    true_persons: int
    predicted_persons: int  # predicted persons holding records of the truth
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    exact_persons: int  # true persons that came out exactly right
    largest_predicted: int  # records in the largest predicted person

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    @property
    def exact_share(self) -> float:
        return self.exact_persons / self.true_persons if self.true_persons else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
            "f1": round(self.f1, 6),
            "exact_share": round(self.exact_share, 6),
        }


def pair_metrics(truth: Iterable[tuple[Key, str]], predicted: Mapping[Key, str]) -> PairMetrics:
    """``truth``: (record, true person) for every record; ``predicted``: record → predicted
    person. A record of the truth the prediction lacks counts as a person of its own;
    predicted records the truth does not know are left out."""
    cells: Counter[tuple[str, str]] = Counter()
    records = unlinked = 0
    for key, person in truth:
        records += 1
        cluster = predicted.get(key)
        if cluster is None:
            unlinked += 1
            cluster = f"\x00unlinked {key[0]}\x00{key[1]}"
        cells[(person, cluster)] += 1
    true_sizes: Counter[str] = Counter()
    predicted_sizes: Counter[str] = Counter()
    parts: Counter[str] = Counter()  # predicted persons each true person is spread over
    correct = 0
    for (person, cluster), count in cells.items():
        true_sizes[person] += count
        predicted_sizes[cluster] += count
        parts[person] += 1
        correct += _pairs(count)
    exact = sum(
        1
        for (person, cluster), count in cells.items()
        if parts[person] == 1 and predicted_sizes[cluster] == count
    )
    return PairMetrics(
        records=records,
        unlinked=unlinked,
        true_persons=len(true_sizes),
        predicted_persons=len(predicted_sizes),
        true_pairs=sum(_pairs(size) for size in true_sizes.values()),
        predicted_pairs=sum(_pairs(size) for size in predicted_sizes.values()),
        correct_pairs=correct,
        exact_persons=exact,
        largest_predicted=max(predicted_sizes.values(), default=0),
    )


def read_truth(path: Path) -> Iterable[tuple[Key, str]]:
    """truth.csv: source, record_id, person_key."""
    with path.open(encoding="utf-8", newline="") as file:
        rows = csv.reader(file)
        next(rows, None)
        for source, record_id, person in rows:
            yield (source, record_id), person


def read_clusters(path: Path) -> dict[Key, str]:
    """A links export (source, record_id, person_id) or any CSV of that shape."""
    with path.open(encoding="utf-8", newline="") as file:
        rows = csv.reader(file)
        next(rows, None)
        return {(row[0], row[1]): row[2] for row in rows}


def metrics_from_files(truth: Path, clusters: Path) -> PairMetrics:
    return pair_metrics(read_truth(truth), read_clusters(clusters))


def wrong_records(truth: list[tuple[Key, str]], predicted: Mapping[Key, str]) -> set[Key]:
    """Records that came out wrong: apart from most of their person's records, or in a
    predicted person that is mostly someone else."""
    cells: Counter[tuple[str, str]] = Counter()
    for key, person in truth:
        cells[(person, predicted.get(key, f"\x00{key}"))] += 1
    home: dict[str, tuple[int, str]] = {}  # person → (records, cluster) of its largest part
    owner: dict[str, tuple[int, str]] = {}  # cluster → (records, person) holding most of it
    for (person, cluster), count in sorted(cells.items()):
        if count > home.get(person, (0, ""))[0]:
            home[person] = (count, cluster)
        if count > owner.get(cluster, (0, ""))[0]:
            owner[cluster] = (count, person)
    wrong: set[Key] = set()
    for key, person in truth:
        cluster = predicted.get(key, f"\x00{key}")
        if home[person][1] != cluster or owner[cluster][1] != person:
            wrong.add(key)
    return wrong


def wrong_by_kind(truth: Path, clusters: Path, noise: Path) -> dict[str, dict[str, int]]:
    """For each kind of error in noise.csv (and "none"): how many records carry it and how
    many of those came out wrong; the kinds with wrong records first."""
    records = list(read_truth(truth))
    wrong = wrong_records(records, read_clusters(clusters))
    kinds_of: dict[Key, list[str]] = {}
    with noise.open(encoding="utf-8", newline="") as file:
        rows = csv.reader(file)
        next(rows, None)
        for source, record_id, kinds in rows:
            kinds_of[(source, record_id)] = kinds.split()
    totals: Counter[str] = Counter()
    wrongs: Counter[str] = Counter()
    for key, _person in records:
        for kind in kinds_of.get(key) or ["none"]:
            totals[kind] += 1
            wrongs[kind] += key in wrong
    return {
        kind: {"records": totals[kind], "wrong": wrongs[kind]}
        for kind in sorted(totals, key=lambda kind: (-wrongs[kind], kind))
    }
