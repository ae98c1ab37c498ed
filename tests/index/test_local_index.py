"""The local-features indexes (LocalFeatureIndex, and the word index for large banks):
incremental adds and removes, shared copies of identical values, and geometry that tells a
cropped copy from a different photo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from safeguard.index import LocalFeatureIndex
from safeguard.index.base import SignalIndex
from safeguard.index.vocabulary import Vocabulary
from safeguard.index.words import WordIndex
from safeguard.signals import local

MakeIndex = Callable[[], SignalIndex]


@pytest.fixture(params=["features", "words"])
def make_index(request: pytest.FixtureRequest, small_vocabulary: Path) -> MakeIndex:
    if request.param == "features":
        return LocalFeatureIndex
    vocabulary = Vocabulary.load(small_vocabulary)
    return lambda: WordIndex(vocabulary)


def _features(im: Image.Image) -> str:
    value = local.extract(np.asarray(im.convert("RGB")))
    assert value is not None
    return value


def test_adds_removes_and_shared_values(train_images: list[Path], make_index: MakeIndex) -> None:
    with Image.open(train_images[0]) as a, Image.open(train_images[1]) as b:
        fa, fb = _features(a), _features(b)
        w, h = a.size
        crop = _features(a.crop((w // 10, h // 10, w - w // 10, h - h // 10)))
        bw, bh = b.size
        other = _features(b.crop((0, 0, bw - bw // 7, bh - bh // 7)))
    index = make_index()
    index.add([(1, fa), (2, fb), (3, fa)])  # 1 and 3: one image in two banks
    assert len(index) == 3
    hits = dict(index.query(crop, local.MAX_DISTANCE))
    assert set(hits) == {1, 3} and hits[1] == hits[3] <= local.MAX_DISTANCE
    assert [e for e, _ in index.query(other, local.MAX_DISTANCE)] == [2]
    index.remove([1])
    assert [e for e, _ in index.query(crop, local.MAX_DISTANCE)] == [3]  # copy kept for 3
    index.remove([3, 99])
    assert index.query(crop, local.MAX_DISTANCE) == []
    assert len(index) == 1
    index.add([(4, fa)])  # back again, under a new id
    assert [e for e, _ in index.query(crop, local.MAX_DISTANCE)] == [4]
    # a stricter threshold: the same evidence is no longer enough
    assert index.query(crop, -1) == []


def test_query_many_answers_each_value_as_query_does(
    train_images: list[Path], make_index: MakeIndex
) -> None:
    with Image.open(train_images[0]) as a, Image.open(train_images[1]) as b:
        fa, fb = _features(a), _features(b)
        w, h = a.size
        crop = _features(a.crop((0, 0, w - w // 8, h - h // 8)))
    index = make_index()
    index.add([(1, fa)])
    values = [crop, fb, fa]
    assert index.query_many(values, local.MAX_DISTANCE) == [
        index.query(v, local.MAX_DISTANCE) for v in values
    ]
    assert [e for e, _ in index.query(crop, local.MAX_DISTANCE)] == [1]
    assert index.query(fb, local.MAX_DISTANCE) == []
    assert index.query_many([], local.MAX_DISTANCE) == []


def test_mirror_features_find_the_mirror_image(
    train_images: list[Path], make_index: MakeIndex
) -> None:
    """ORB is not mirror-invariant: a mirrored copy's own features miss the original, and
    the features of its mirror (keypoints reflected, described on the flipped picture) find
    it."""
    with Image.open(train_images[2]) as im:
        im = im.convert("RGB")
        original = _features(im)
        assert local.extract_with_mirror(np.asarray(im))[0] == original
        direct, mirrored = local.extract_with_mirror(np.asarray(ImageOps.mirror(im)))
    assert direct is not None and mirrored is not None
    index = make_index()
    index.add([(1, original)])
    assert index.query(direct, local.MAX_DISTANCE) == []
    [(entry, distance)] = index.query(mirrored, local.MAX_DISTANCE)
    assert entry == 1 and distance <= local.MAX_DISTANCE
    flat = np.full((300, 400, 3), 128, dtype=np.uint8)  # no keypoints: nothing either way
    assert local.extract_with_mirror(flat) == (None, None)
