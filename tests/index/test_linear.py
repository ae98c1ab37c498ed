"""The linear PDQ index is exact: it returns every stored hash within the distance, no more."""

from __future__ import annotations

import numpy as np
import pytest

from safeguard.index import ExactIndex, LinearPdqIndex

RNG = np.random.default_rng(7)


def _random_hashes(n: int) -> list[str]:
    return [RNG.bytes(32).hex() for _ in range(n)]


def _flip(h: str, bits: int) -> str:
    v = int(h, 16)
    for b in RNG.choice(256, size=bits, replace=False):
        v ^= 1 << int(b)
    return f"{v:064x}"


def _brute(stored: dict[int, str], q: str, d: int) -> list[tuple[int, int]]:
    out = [(i, (int(h, 16) ^ int(q, 16)).bit_count()) for i, h in stored.items()]
    return sorted([p for p in out if p[1] <= d], key=lambda p: (p[1], p[0]))


@pytest.mark.parametrize("threshold", [0, 31, 63])
def test_matches_brute_force(threshold: int) -> None:
    base = _random_hashes(300)
    stored = {i: h for i, h in enumerate(base)}
    # near duplicates at many distances around the threshold
    for k, h in enumerate(base[:100]):
        stored[1000 + k] = _flip(h, k % 70)
    index = LinearPdqIndex()
    index.add(stored.items())
    queries = [_flip(h, 5) for h in base[:50]] + _random_hashes(10)
    got = index.query_many(queries, threshold)
    for q, hits in zip(queries, got, strict=True):
        assert sorted(hits, key=lambda p: (p[1], p[0])) == _brute(stored, q, threshold)


def test_add_remove_and_compaction() -> None:
    hashes = _random_hashes(3000)
    index = LinearPdqIndex()
    index.add(enumerate(hashes))
    assert len(index) == 3000
    index.remove(range(0, 2000))  # triggers compaction
    assert len(index) == 1000
    assert index.query(hashes[5], 0) == []
    assert index.query(hashes[2500], 0) == [(2500, 0)]
    index.add([(5, hashes[5])])
    assert index.query(hashes[5], 0) == [(5, 0)]


def test_duplicate_ids_rejected_without_partial_add() -> None:
    index = LinearPdqIndex()
    index.add([(1, "0" * 64)])
    with pytest.raises(ValueError):
        index.add([(2, "f" * 64), (1, "1" * 64)])
    assert len(index) == 1 and index.query("f" * 64, 0) == []


def test_exact_index() -> None:
    index = ExactIndex()
    index.add([(1, "a"), (2, "a"), (3, "b")])
    assert index.query("a") == [(1, 0), (2, 0)]
    index.remove([1, 3])
    assert index.query("a") == [(2, 0)] and index.query("b") == [] and len(index) == 1
