"""Records to people: join scored pairs into clusters, strongest evidence first.

Plain connected components lets one weak pair chain two people together. Here pairs are
taken in order of strength and a join is refused when it would put two different valid NHS
numbers, or two records a reviewer said are different people, in one cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class _Clusters:
    def __init__(self, size: int, nhs: Sequence[str | None]) -> None:
        self.parent = list(range(size))
        self.nhs: dict[int, set[str]] = {i: {v} for i, v in enumerate(nhs) if v}
        self.apart: dict[int, set[int]] = {}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def keep_apart(self, a: int, b: int) -> None:
        self.apart.setdefault(a, set()).add(b)
        self.apart.setdefault(b, set()).add(a)

    def _conflict(self, ra: int, rb: int) -> bool:
        na, nb = self.nhs.get(ra), self.nhs.get(rb)
        if na and nb and na.isdisjoint(nb):
            return True
        small, other = (
            (ra, rb) if len(self.apart.get(ra, ())) <= len(self.apart.get(rb, ())) else (rb, ra)
        )
        return any(self.find(x) == other for x in self.apart.get(small, ()))

    def join(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self._conflict(ra, rb):
            return False
        self.parent[rb] = ra
        if rb in self.nhs:
            self.nhs.setdefault(ra, set()).update(self.nhs.pop(rb))
        if rb in self.apart:
            self.apart.setdefault(ra, set()).update(self.apart.pop(rb))
        return True


def cluster(
    size: int,
    edges: Iterable[tuple[int, int, float]],
    valid_nhs: Sequence[str | None],
    apart: Iterable[tuple[int, int]] = (),
) -> tuple[list[int], set[tuple[int, int]]]:
    """Cluster id (the id of one member) per record, and the edges that were accepted.

    `edges` are (left, right, strength); give decided and deterministic links strength above 1
    so they are taken first.
    """
    clusters = _Clusters(size, valid_nhs)
    for a, b in apart:
        # Keep-apart constraints are held on roots; all records are their own root here.
        clusters.keep_apart(a, b)
    accepted: set[tuple[int, int]] = set()
    for a, b, _strength in sorted(edges, key=lambda e: -e[2]):
        if clusters.join(a, b):
            accepted.add((a, b))
    roots = [clusters.find(i) for i in range(size)]
    return roots, accepted
