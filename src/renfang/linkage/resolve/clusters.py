"""Clusters of records that are one person: a union-find that refuses the joins that chain
strangers together (DOMAIN.md: "a few bad links chain into huge false persons").

The nodes are groups of records already known to be one person (same valid ID, same other
identifier, or pinned by a person's decision to one person). Two components are never joined
when they hold different valid resident IDs, or different identifiers of one other kind (two
passports, two social security numbers), when they are pinned to different persons, or when a
reviewer kept two of their records apart. Edges come best first, so a record that
matches two persons goes to the better one and the second join is refused.
"""

from __future__ import annotations


class Components:
    """Union-find over ``size`` groups with the guards above."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))
        self.size = [1] * size
        # Per root, only where there is something to guard (most groups have nothing).
        self.ids: dict[int, frozenset[str]] = {}
        self.others: dict[int, frozenset[tuple[str, str]]] = {}
        self.person: dict[int, int] = {}
        self.apart: dict[int, list[int]] = {}
        self.refused = 0

    def find(self, node: int) -> int:
        parent = self.parent
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def hold_id(self, node: int, number: str) -> None:
        root = self.find(node)
        self.ids[root] = self.ids.get(root, frozenset()) | {number}

    def hold_other(self, node: int, kind: str, number: str) -> None:
        root = self.find(node)
        self.others[root] = self.others.get(root, frozenset()) | {(kind, number)}

    def pin(self, node: int, person_id: int) -> None:
        self.person[self.find(node)] = person_id

    def keep_apart(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        self.apart.setdefault(ra, []).append(b)
        self.apart.setdefault(rb, []).append(a)

    def allowed(self, ra: int, rb: int) -> bool:
        """May the components with roots ``ra`` and ``rb`` become one?"""
        ids_a, ids_b = self.ids.get(ra), self.ids.get(rb)
        if ids_a and ids_b and not ids_a & ids_b:
            return False
        others_a, others_b = self.others.get(ra), self.others.get(rb)
        if others_a and others_b and not _compatible(others_a, others_b):
            return False
        person_a, person_b = self.person.get(ra), self.person.get(rb)
        if person_a is not None and person_b is not None and person_a != person_b:
            return False
        apart_a, apart_b = self.apart.get(ra), self.apart.get(rb)
        if apart_a and apart_b:
            if len(apart_b) < len(apart_a):
                apart_a, rb = apart_b, ra
            return all(self.find(other) != rb for other in apart_a)
        return True

    def union(self, a: int, b: int) -> bool:
        """Join the components of ``a`` and ``b`` unless a guard refuses; True if they are
        one now."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if not self.allowed(ra, rb):
            self.refused += 1
            return False
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        if rb in self.ids:
            self.ids[ra] = self.ids.get(ra, frozenset()) | self.ids.pop(rb)
        if rb in self.others:
            self.others[ra] = self.others.get(ra, frozenset()) | self.others.pop(rb)
        if rb in self.person:
            self.person[ra] = self.person.pop(rb)
        if rb in self.apart:
            self.apart.setdefault(ra, []).extend(self.apart.pop(rb))
        return True

    def holds_ids(self, node: int) -> frozenset[str]:
        return self.ids.get(self.find(node), frozenset())


def _compatible(a: frozenset[tuple[str, str]], b: frozenset[tuple[str, str]]) -> bool:
    """No kind of identifier that both hold with no number in common."""
    kinds_a: dict[str, set[str]] = {}
    for kind, number in a:
        kinds_a.setdefault(kind, set()).add(number)
    kinds_b: dict[str, set[str]] = {}
    for kind, number in b:
        kinds_b.setdefault(kind, set()).add(number)
    return all(kinds_a[kind] & numbers for kind, numbers in kinds_b.items() if kind in kinds_a)
