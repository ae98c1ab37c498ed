"""The word index (index/words.py): what a lookup gathers is exactly what was listed under its
words, across the main part, the delta and merges, and removed images drop out; an index
built in arrays, changed, saved and memory-mapped again answers as before; stop words do
not vote; and the vocabulary (index/vocabulary.py): a saved one files descriptors as it
did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from safeguard.index import _tree, _votes, words
from safeguard.index.vocabulary import Vocabulary, synthetic_corpus
from safeguard.index.words import WordIndex, write_arrays
from safeguard.signals import local


def _expected(
    listed: list[tuple[int, int]], query: np.ndarray, alive: np.ndarray, least: int
) -> dict[int, int]:
    votes: dict[int, int] = {}
    for w, c in listed:
        if alive[c]:
            votes[c] = votes.get(c, 0) + int(np.count_nonzero(query == w))
    return {c: min(v, 255) for c, v in votes.items() if v >= least}


def _counted(postings: words._Postings, query: np.ndarray, alive: np.ndarray, least: int):  # type: ignore[no-untyped-def]
    found, votes = _votes.count(postings.parts(), query, alive.view(np.uint8), len(alive), least)
    copies = np.frombuffer(found, dtype=np.uint32).tolist()
    assert len(set(copies)) == len(copies)
    return dict(zip(copies, np.frombuffer(votes, dtype=np.uint8).tolist(), strict=True))


def test_votes_counted_across_delta_and_merges(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The compiled counter gives every alive copy one vote per query word it is listed
    under (a word given twice counts twice), across the merged part and the delta."""
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
            query = rng.integers(0, n_words, 9)
            for least in (1, 2):
                assert _counted(postings, query, alive, least) == _expected(
                    listed, query, alive, least
                )
    assert merges >= 3
    postings.merge(alive)
    assert alive[postings.ids].all()  # the removed are gone from the postings
    query = np.arange(n_words, dtype=np.int64)
    assert _counted(postings, query, alive, 1) == _expected(listed, query, alive, 1)
    assert len(postings) == sum(alive[c] for _, c in listed)
    with pytest.raises(ValueError, match="out of range"):
        _votes.count(postings.parts(), np.array([n_words], dtype=np.int64), alive, copies, 1)


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


def test_vocabulary_descent_finds_the_nearest_leaves() -> None:
    """The compiled descent (_tree.c) against a brute force over every child: the nearest
    middle node (the first of equals), then the n nearest leaves under it, nearest first,
    equals in order; ties made on purpose by asking for copies of children."""
    rng = np.random.default_rng(11)
    coarse, b1, b2 = 5, 4, 16
    middle = rng.integers(0, 256, (coarse, b1, 32), dtype=np.uint8)
    leaves = rng.integers(0, 256, (coarse * b1, b2, 32), dtype=np.uint8)
    leaves[3, 7] = leaves[3, 2]  # equal leaves: the first comes first
    middle[1, 3] = middle[1, 0]  # equal middle nodes: the first is taken
    top = rng.integers(0, coarse, 400)
    d = rng.integers(0, 256, (400, 32), dtype=np.uint8)
    d[:50] = leaves[3, 2]
    top[:50] = 0
    middle[0, 3] = leaves[3, 2]  # so those 50 go down to middle node 3 (0 * 4 + 3)
    d[50:60], top[50:60] = middle[1, 0], 1

    def bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.unpackbits(a ^ b, axis=-1).sum(axis=-1)

    for n in (1, 3, 16):
        out = np.empty((len(d), n), dtype=np.int64)
        _tree.descend(d, top, middle, leaves, b1, b2, n, out)
        for i in range(len(d)):
            node = top[i] * b1 + int(np.argmin(bits(middle[top[i]], d[i])))
            order = np.argsort(bits(leaves[node], d[i]), kind="stable")[:n]
            assert out[i].tolist() == (node * b2 + order).tolist()
    assert (out[:50, 0] == 3 * b2 + 2).all() and (out[:50, 1] == 3 * b2 + 7).all()
    with pytest.raises(ValueError, match="out of range"):
        _tree.descend(d, top + coarse, middle, leaves, b1, b2, 1, out[:, :1].copy())
    with pytest.raises(ValueError, match="do not fit"):
        _tree.descend(d, top, middle, leaves[:-1], b1, b2, 1, np.empty((400, 1), np.int64))
    with pytest.raises(ValueError, match="out of range"):
        _tree.descend(d, top, middle, leaves, b1, b2, 17, np.empty((400, 17), np.int64))


def _features(im: Image.Image) -> str:
    value = local.extract(np.asarray(im.convert("RGB")))
    assert value is not None
    return value


def test_built_changed_saved_and_opened_index_answers_alike(
    train_images: list[Path], small_vocabulary: Path, tmp_path: Path
) -> None:
    vocabulary = Vocabulary.load(small_vocabulary)
    values, crops = [], []
    for p in train_images[:4]:
        with Image.open(p) as im:
            values.append(_features(im))
            w, h = im.size
            crops.append(_features(im.crop((w // 10, h // 10, w - w // 10, h - h // 10))))
    a, b, c, d = values
    index = WordIndex.build([(1, a), (2, b), (3, a)], vocabulary)  # 1 and 3: one image twice

    def found(ix: WordIndex) -> list[list[int]]:
        return [sorted(e for e, _ in hits) for hits in ix.query_many(crops, local.MAX_DISTANCE)]

    assert found(index) == [[1, 3], [2], [], []]
    index.remove([1])
    assert found(index) == [[3], [2], [], []]
    index.remove([3, 99])
    assert found(index) == [[], [2], [], []] and len(index) == 1
    index.add([(4, a), (5, c)])  # a base copy back under a new id; a new image
    assert found(index) == [[4], [2], [5], []] and len(index) == 3

    write_arrays(index.freeze(), tmp_path, "local")
    opened = WordIndex.open(tmp_path, "local", vocabulary)
    assert isinstance(opened._base.descriptors, np.memmap)  # mapped, not read
    assert found(opened) == found(index) and len(opened) == 3
    assert opened.nbytes() < index.nbytes() / 4  # keypoints stay in the file
    opened.add([(6, d)])
    opened.remove([2])
    assert found(opened) == [[4], [], [5], [6]]
    other = Vocabulary.train(synthetic_corpus(range(4_000_100, 4_000_104), 1), branches=(2, 2))
    with pytest.raises(ValueError, match="another vocabulary"):
        WordIndex.open(tmp_path, "local", other)


@pytest.mark.parametrize("way", ["built", "added"])
def test_stop_words_do_not_vote(way: str, train_images: list[Path], small_vocabulary: Path) -> None:
    """A word listed for far more images than the average word (and more than
    `STOP_FLOOR`) is a stop word: a query does not vote through it, in the arrays or in
    what was added since; the query's other words still vote, and its image is found."""
    vocabulary = Vocabulary.load(small_vocabulary)
    with Image.open(train_images[0]) as im:
        photo = _features(im)
        w, h = im.size
        crop = _features(im.crop((w // 10, h // 10, w - w // 10, h - h // 10)))
    _, descriptors = local.decode(crop)
    common = descriptors[0]  # one of the query's descriptors, in every filler image
    rng = np.random.default_rng(3)
    fillers = [
        (100 + i, local.encode(rng.uniform(0, 500, (20, 2)), np.repeat(common[None], 20, axis=0)))
        for i in range(words.STOP_FLOOR + 50)
    ]
    if way == "built":
        index = WordIndex.build([(1, photo), *fillers], vocabulary)
    else:
        index = WordIndex.build([(1, photo)], vocabulary)
        index.add(fillers)
    stop = int(vocabulary.words(common[None])[0])
    nearest = set(np.unique(vocabulary.nearest_words(descriptors, words.SOFT)).tolist())
    voting = set(index.voting_words(descriptors).tolist())
    assert stop in nearest and stop not in voting
    assert voting == nearest - {stop}  # no other word is that common
    assert [e for e, _ in index.query(crop, local.MAX_DISTANCE)] == [1]


def test_the_default_vocabulary_is_built_once_where_it_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two callers at once: one builds (saying so), the other waits for its file; both get
    the same vocabulary, and a later call loads it without building."""
    import threading

    from safeguard.index import vocabulary

    monkeypatch.setattr(vocabulary, "CORPUS_SEEDS", range(5_000_000, 5_000_006))
    monkeypatch.setattr(vocabulary, "VARIANTS", 2)
    monkeypatch.setattr(vocabulary, "BRANCHES", (2, 2))
    path = tmp_path / "cache" / "vocabulary.npz"
    got: list[Vocabulary] = []
    callers = [
        threading.Thread(target=lambda: got.append(Vocabulary.load_or_build(path)))
        for _ in range(2)
    ]
    with caplog.at_level("WARNING", logger="safeguard.index"):
        for t in callers:
            t.start()
        for t in callers:
            t.join()
    assert len(got) == 2 and got[0].digest == got[1].digest and got[0].size == 2048 * 4
    assert [r.message for r in caplog.records].count(
        f"building the local-features vocabulary in {path} (once per machine: a few minutes)"
    ) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "vocabulary.npz",
        "vocabulary.npz.lock",
    ]
    monkeypatch.setenv("SAFEGUARD_VOCABULARY", str(path))
    caplog.clear()
    assert Vocabulary.default().digest == got[0].digest and not caplog.records


def test_the_vocabulary_is_prebuilt_from_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`safeguard index vocabulary` builds it where SAFEGUARD_VOCABULARY says, then finds it."""
    import json

    from safeguard.index import vocabulary
    from tests.conftest import Cli

    monkeypatch.setattr(vocabulary, "CORPUS_SEEDS", range(5_000_100, 5_000_104))
    monkeypatch.setattr(vocabulary, "VARIANTS", 1)
    monkeypatch.setattr(vocabulary, "BRANCHES", (2, 2))
    path = tmp_path / "v.npz"
    cli = Cli({"SAFEGUARD_HOME": str(tmp_path / "home"), "SAFEGUARD_VOCABULARY": str(path)})
    first = cli("index", "vocabulary", "--json")
    assert first.exit_code == 0, first.output
    built = json.loads(first.stdout)
    assert built["built"] is True and built["path"] == str(path) and built["words"] == 2048 * 4
    assert Vocabulary.load(path).digest == built["digest"]
    again = cli("index", "vocabulary")
    assert again.exit_code == 0 and f"vocabulary present: {path} (8,192 words)" in again.stdout
