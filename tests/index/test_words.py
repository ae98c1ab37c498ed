"""The word index's inverted file (index/words.py): what a lookup gathers is exactly what was
listed under its words, across the main part, the delta and merges, and removed images drop
out; and the vocabulary (index/vocabulary.py): a saved one files descriptors as it did."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from safeguard.index import words
from safeguard.index.vocabulary import Vocabulary, synthetic_corpus


def _expected(listed: list[tuple[int, int]], query: np.ndarray, alive: np.ndarray) -> list[int]:
    wanted = set(query.tolist())
    return sorted(c for w, c in listed if w in wanted and alive[c])


def test_postings_gather_across_delta_and_merges(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(words, "_MIN_MERGE", 300)  # merge often
    rng = np.random.default_rng(5)
    n_words, copies = 97, 400
    postings = words._Postings(n_words)
    alive = np.ones(copies, dtype=bool)
    listed: list[tuple[int, int]] = []
    merges = 0
    for copy in range(copies):
        ws = np.unique(rng.integers(0, n_words, rng.integers(1, 12)))
        before = len(postings.ids)
        postings.add(ws, np.full(len(ws), copy, dtype=np.uint32), alive)
        merges += len(postings.ids) != before
        listed += [(int(w), copy) for w in ws]
        if copy % 7 == 3:  # some images go again
            alive[rng.integers(0, copy + 1)] = False
        if copy % 50 == 0:
            query = np.unique(rng.integers(0, n_words, 9))
            got = postings.gather(query)
            assert sorted(int(c) for c in got if alive[c]) == _expected(listed, query, alive)
    assert merges >= 3
    postings.merge(alive)
    assert not alive[postings.ids].size or alive[postings.ids].all()  # the dead are gone
    query = np.arange(n_words)
    assert sorted(postings.gather(query).tolist()) == _expected(listed, query, alive)
    assert len(postings) == sum(alive[c] for _, c in listed)


def test_vocabulary_saved_and_loaded_files_alike(tmp_path: Path) -> None:
    corpus = synthetic_corpus(range(4_000_000, 4_000_012), variants=2)
    vocabulary = Vocabulary.train(corpus, branches=(4, 2))
    assert vocabulary.size == 2048 * 4 * 2
    vocabulary.save(tmp_path / "v.npz")
    again = Vocabulary.load(tmp_path / "v.npz")
    sample = corpus[:500]
    assert np.array_equal(vocabulary.words(sample), again.words(sample))
    nearest = again.nearest_words(sample, 2)
    assert np.array_equal(nearest[:, 0], again.words(sample))  # nearest first
    assert (nearest[:, 0] != nearest[:, 1]).all()
    assert ((nearest >= 0) & (nearest < again.size)).all()
