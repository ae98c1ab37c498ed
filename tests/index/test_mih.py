"""The MIH index is exact (property tests against brute force), incremental, and snapshots."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.index.layout import (
    BRUTE_NS,
    PROBE_NS,
    Layout,
    _search,
    allocate_flips,
    choose_layout,
    query_cost,
    split,
)
from safeguard.index.mih import MihPdqIndex

# small key lengths keep the directories small; some layouts leave bits uncovered
LAYOUTS = [split(16, 14), split(20, 12), split(32, 8), split(8, 12), split(11, 9)]


def _hex(v: int) -> str:
    return f"{v:064x}"


def _at_distance(rng: random.Random, v: int, d: int) -> int:
    for b in rng.sample(range(256), d):
        v ^= 1 << b
    return v


def _brute(stored: dict[int, int], q: int, r: int) -> list[tuple[int, int]]:
    hits = [(i, (h ^ q).bit_count()) for i, h in stored.items()]
    return sorted([h for h in hits if h[1] <= r], key=lambda h: (h[1], h[0]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layout=st.sampled_from(LAYOUTS),
    radius=st.integers(0, 63),
    seed=st.integers(0, 2**32),
    n_random=st.integers(0, 300),
)
def test_exact_against_brute_force(layout, radius: int, seed: int, n_random: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    queries = [rng.getrandbits(256) for _ in range(5)]
    stored: dict[int, int] = {}
    for q in queries:
        # hashes exactly at the radius, one beyond, and spread around it
        for d in {0, radius, radius + 1, max(radius - 1, 0), rng.randint(0, 80)}:
            stored[len(stored)] = _at_distance(rng, q, d)
    for _ in range(n_random):
        stored[len(stored)] = rng.getrandbits(256)
    index = MihPdqIndex.build(
        ((i, _hex(h)) for i, h in stored.items()), layout=Layout(layout), background=False
    )
    got = index.query_many([_hex(q) for q in queries], radius)
    assert got == [_brute(stored, q, radius) for q in queries]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), radius=st.integers(0, 40))
def test_incremental_add_remove_match_a_rebuild(seed: int, radius: int) -> None:
    rng = random.Random(seed)
    base = {i: rng.getrandbits(256) for i in range(200)}
    index = MihPdqIndex.build(
        ((i, _hex(h)) for i, h in base.items()),
        layout=Layout(split(16, 10)),
        delta_limit=50,
        background=False,
    )
    live = dict(base)
    for step in range(120):
        if rng.random() < 0.6 or not live:
            new_id = 1000 + step
            live[new_id] = _at_distance(rng, rng.choice(list(base.values())), rng.randint(0, 45))
            index.add([(new_id, _hex(live[new_id]))])
        else:
            gone = rng.choice(list(live))
            del live[gone]
            index.remove([gone])
        if step % 20 == 0:
            q = _at_distance(rng, rng.choice(list(base.values())), rng.randint(0, 30))
            assert index.query(_hex(q), radius) == _brute(live, q, radius)
    assert len(index) == len(live)
    for q in list(live.values())[:10]:
        assert index.query(_hex(q), radius) == _brute(live, q, radius)


def test_background_compaction_keeps_answers_right() -> None:
    rng = random.Random(3)
    base = {i: rng.getrandbits(256) for i in range(3000)}
    index = MihPdqIndex.build(((i, _hex(h)) for i, h in base.items()), delta_limit=100)
    for i in range(3000, 3400):
        base[i] = rng.getrandbits(256)
        index.add([(i, _hex(base[i]))])
        if i % 7 == 0:
            index.remove([i - 3000])
            del base[i - 3000]
    index.compact(wait=True)
    assert len(index) == len(base)
    for i in rng.sample(list(base), 50):
        assert (i, 0) in index.query(_hex(base[i]), 0)


def test_duplicate_ids_rejected() -> None:
    index = MihPdqIndex.build([(1, "0" * 64)])
    with pytest.raises(ValueError):
        index.add([(1, "f" * 64)])
    with pytest.raises(ValueError):
        MihPdqIndex.build([(2, "0" * 64), (2, "1" * 64)])


def test_snapshot_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    hexes = [rng.bytes(32).hex() for _ in range(5000)]
    index = MihPdqIndex.build(enumerate(hexes), layout=Layout(split(16, 12)))
    index.remove([7])
    index.add([(9999, hexes[7])])
    index.version = 42
    path = tmp_path / "pdq.idx"
    size = index.save(path)
    assert size == path.stat().st_size and MihPdqIndex.snapshot_version(path) == 42
    loaded = MihPdqIndex.load(path)
    assert loaded.version == 42 and len(loaded) == len(index) == 5000
    for q in hexes[:50]:
        assert loaded.query(q, 31) == index.query(q, 31)
    assert loaded.query(hexes[7], 0) == [(9999, 0)]
    loaded.remove([9999])  # a loaded snapshot still takes changes
    assert loaded.query(hexes[7], 0) == []
    (tmp_path / "bad.idx").write_bytes(b"not an index")
    with pytest.raises(ValueError, match="not a safeguard PDQ index snapshot"):
        MihPdqIndex.load(tmp_path / "bad.idx")


def test_layout_choice_follows_bank_size() -> None:
    assert choose_layout(1000).brute_force
    big = choose_layout(10_000_000)
    assert not big.brute_force and len(big.tables) >= 8
    lengths = tuple(length for _, length in big.tables)
    flips = allocate_flips(10_000_000, lengths, 31)
    assert flips is not None and sum(flips) >= 31 - len(lengths) + 1


@pytest.mark.parametrize("radius", [15, 31])
def test_small_banks_skip_the_layout_search_and_lose_nothing(radius: int) -> None:
    """Below the bound (radius + 1 probes cost more than scanning n hashes) brute force is
    chosen without the search: the bound holds for every layout the search weighs, and the
    search itself, run anyway, agrees on either side of it."""
    bound = int((radius + 1) * PROBE_NS / BRUTE_NS)
    for m in range(2, 33):
        for key_bits in range(8, 27):
            lengths = tuple(length for _, length in split(m, key_bits))
            assert query_cost(bound, lengths, radius) >= (radius + 1) * PROBE_NS
    for n in (0, 1, bound, bound + 1, 50 * bound):
        searched = _search(n, radius, 48)
        assert choose_layout(n, radius) == searched, n
    assert choose_layout(bound, radius).brute_force


def test_removal_during_a_background_compaction_sticks() -> None:
    rng = random.Random(11)
    stored = {i: rng.getrandbits(256) for i in range(20_000)}
    index = MihPdqIndex.build(((i, _hex(h)) for i, h in stored.items()), delta_limit=10)
    new = {20_000 + k: rng.getrandbits(256) for k in range(10)}
    index.add((i, _hex(h)) for i, h in new.items())  # the 10th add starts a compaction
    index.remove([20_003, 5])  # one from the delta being folded in, one from the old part
    index.compact(wait=True)
    assert index.query(_hex(new[20_003]), 0) == []
    assert index.query(_hex(stored[5]), 0) == []
    assert index.query(_hex(new[20_004]), 0) == [(20_004, 0)]
    assert len(index) == 20_000 + 10 - 2


def test_remove_and_add_again_during_a_compaction() -> None:
    rng = random.Random(12)
    stored = {i: rng.getrandbits(256) for i in range(20_000)}
    index = MihPdqIndex.build(((i, _hex(h)) for i, h in stored.items()), delta_limit=10)
    new = {20_000 + k: rng.getrandbits(256) for k in range(10)}
    index.add((i, _hex(h)) for i, h in new.items())  # starts a compaction
    replacement = rng.getrandbits(256)
    index.remove([20_003])
    index.add([(20_003, _hex(replacement))])
    index.compact(wait=True)
    assert index.query(_hex(new[20_003]), 0) == []
    assert index.query(_hex(replacement), 0) == [(20_003, 0)]
    assert len(index) == 20_010
