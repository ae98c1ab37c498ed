"""How a multi-index hashing (MIH) index splits PDQ hashes, and how many bits to flip per table.

Exactness (the generalized pigeonhole principle, Qin et al. 2018). Split the 256 bits into m
disjoint substrings (tables) and give table i a flip budget t_i >= -1. If two hashes are at
Hamming distance d <= r, their distances d_i on the substrings add up to at most d. If every
d_i exceeded t_i we would have d >= sum(t_i + 1) = sum(t_i) + m, so whenever
sum(t_i) >= r - m + 1, some table i has d_i <= t_i. Probing, in every table, each key within
t_i flips of the query's key therefore finds every stored hash within r: nothing is missed.
t_i = -1 means the table is not probed. Bits left out of every table only make the
substrings' distances smaller, so the guarantee holds over any subset of the 256 bits.

Cost. Probing table i (length L_i) with budget t_i looks up P_i = sum_{k<=t_i} C(L_i, k) keys;
with n uniformly spread hashes each key holds n / 2^L_i of them on average, each a candidate
to verify. Expected cost = sum_i P_i * (probe + verify * n / 2^L_i). The flip budgets for a
radius are chosen greedily (each step adds one flip where it costs least; the cost is convex
in t_i, so greedy is optimal), and the table count for a bank size is the one with the
lowest expected cost at the design radius, within a memory cap on the key directories
(2^L_i 32-bit offsets per table). When brute force is cheaper, no tables are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np

PROBE_NS = 60.0  # one key-directory lookup: a cache miss
VERIFY_NS = 45.0  # fetch a candidate's hash and compare: mostly a cache miss
BRUTE_NS = 1.2  # one stored hash in a sequential XOR + popcount scan
MAX_KEY_BITS = 26
MAX_FLIPS = 6


@dataclass(frozen=True)
class Layout:
    """Tables as (start bit, length) pairs; empty means brute force."""

    tables: tuple[tuple[int, int], ...]

    @property
    def brute_force(self) -> bool:
        return not self.tables


def split(m: int, key_bits: int) -> tuple[tuple[int, int], ...]:
    """m adjacent substrings of `key_bits` bits each (capped so they fit in 256 bits)."""
    length = min(key_bits, 256 // m)
    return tuple((i * length, length) for i in range(m))


def table_cost(n: int, length: int, flips: int) -> float:
    if flips < 0:
        return 0.0
    probes = sum(comb(length, k) for k in range(flips + 1))
    return probes * (PROBE_NS + VERIFY_NS * n / 2**length)


@lru_cache(maxsize=1024)
def allocate_flips(n: int, lengths: tuple[int, ...], radius: int) -> tuple[int, ...] | None:
    """Cheapest flip budgets with sum >= radius - m + 1, or None if a budget would exceed
    MAX_FLIPS (then brute force is the sane choice)."""
    m = len(lengths)
    flips = [-1] * m
    for _ in range(radius + 1):  # from sum -m up to radius - m + 1
        best, best_delta = -1, float("inf")
        for i, length in enumerate(lengths):
            if flips[i] >= min(MAX_FLIPS, length):
                continue
            delta = table_cost(n, length, flips[i] + 1) - table_cost(n, length, flips[i])
            if delta < best_delta:
                best, best_delta = i, delta
        if best < 0:
            return None
        flips[best] += 1
    return tuple(flips)


@lru_cache(maxsize=1024)
def query_cost(n: int, lengths: tuple[int, ...], radius: int) -> float:
    flips = allocate_flips(n, lengths, radius)
    if flips is None:
        return float("inf")
    return sum(table_cost(n, length, t) for length, t in zip(lengths, flips, strict=True))


def choose_layout(n: int, radius: int = 31, memory_bytes_per_hash: int = 48) -> Layout:
    """The table layout with the lowest expected query cost for n hashes at `radius`.

    Key directories may use at most `memory_bytes_per_hash` bytes per stored hash in total
    (at least 64 MiB), which bounds the key length as the bank grows.
    """
    if BRUTE_NS * max(n, 1) <= (radius + 1) * PROBE_NS:
        # every layout probes at least radius + 1 keys (a table with budget t probes at
        # least t + 1 keys, and the budgets add up to at least radius - m + 1 over m
        # tables), so none can beat this scan: skip the search, about 0.1 s that every
        # small bank's index would pay as it is built
        return Layout(())
    return _search(n, radius, memory_bytes_per_hash)


def _search(n: int, radius: int, memory_bytes_per_hash: int) -> Layout:
    """Every table count and key length within the memory budget, the cheapest kept."""
    budget = max(64 << 20, memory_bytes_per_hash * n)
    best: tuple[float, Layout] = (BRUTE_NS * max(n, 1), Layout(()))
    for m in range(2, 33):
        for key_bits in range(8, MAX_KEY_BITS + 1):
            tables = split(m, key_bits)
            length = tables[0][1]
            if length != key_bits or m * ((1 << length) + 1) * 4 > budget:
                continue
            cost = query_cost(n, tuple(t[1] for t in tables), radius)
            if cost < best[0]:
                best = (cost, Layout(tables))
    return best[1]


@lru_cache(maxsize=64)
def flip_masks(length: int, flips: int) -> np.ndarray:
    """All `length`-bit masks with at most `flips` bits set, fewest bits first."""
    masks = [0]
    for k in range(1, flips + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(length), k))
    out = np.array(masks, dtype=np.uint32)
    out.flags.writeable = False
    return out
