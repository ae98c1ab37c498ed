"""The JSON tree evaluator matches scikit-learn; the shipped model is monotone and well-formed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from safeguard.pathways.errors import PathwaysModelError
from safeguard.pathways.features import FEATURE_NAMES, FEATURES
from safeguard.pathways.model import Model, export_sklearn, make_classifier
from safeguard.pathways.train import CALIBRATION_SEEDS, TRAIN_SEEDS

EVALUATION_SEEDS = range(9001, 9006)  # the seeds docs/pathways.md reports on


def random_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    scale = np.array(
        [60, 40, 30, 40, 1, 30, 1, 1, 1, 1, 1, 5, 3, 1, 400, 1, 10, 1, 30, 10, 1, 80, 15]
    )
    assert scale.size == len(FEATURE_NAMES)
    return np.round(rng.random((n, scale.size)) * scale, 2)


def test_exported_trees_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    x = random_rows(rng, 3000)
    y = ((x[:, 4] > 0.6) & (x[:, 14] < 100) | (x[:, 11] > 4)).astype(int)
    clf = make_classifier(seed=0, max_iter=30)
    clf.fit(x, y)
    baseline, trees = export_sklearn(clf)
    model = Model(features=tuple(FEATURE_NAMES), baseline=baseline, trees=trees)
    x_test = random_rows(rng, 500)
    x_test[:7, 3] = np.nan  # missing values follow sklearn's learned direction too
    np.testing.assert_allclose(model.raw(x_test), clf.decision_function(x_test), rtol=1e-9)
    # and the round trip through JSON changes nothing
    again = Model.from_json(json.loads(json.dumps(model.to_json())))
    np.testing.assert_array_equal(again.raw(x_test), model.raw(x_test))


def test_shipped_model_is_monotone() -> None:
    model = Model.load()
    rng = np.random.default_rng(1)
    x = random_rows(rng, 400)
    base = model.predict(x)
    for i, f in enumerate(FEATURES):
        if f.direction == 0:
            continue
        bumped = x.copy()
        bumped[:, i] = bumped[:, i] * 1.5 + 1
        moved = model.predict(bumped)
        if f.direction > 0:
            assert np.all(moved >= base - 1e-12), f.name
        else:
            assert np.all(moved <= base + 1e-12), f.name


def test_shipped_model_provenance() -> None:
    model = Model.load()
    info = model.info
    train, cal = set(info["train_seeds"]), set(info["calibration_seeds"])
    assert train == set(TRAIN_SEEDS) and cal == set(CALIBRATION_SEEDS)
    assert not train & cal
    assert not (train | cal) & set(EVALUATION_SEEDS)
    assert 0.5 <= model.threshold < 1.0
    assert model.features == FEATURE_NAMES
    # and the development generator's populations that `make pathways-model` adds
    make = (Path(__file__).parents[2] / "Makefile").read_text()

    def seeds(var: str) -> list[str]:
        line = next(x for x in make.splitlines() if x.startswith(f"{var} :="))
        return [f"dev-{s}" for s in line.split(":=")[1].split()]

    fit, calibrate = seeds("PATHWAYS_DEV_FIT"), seeds("PATHWAYS_DEV_CAL")
    assert info["train_data"] == fit and info["calibration_data"] == calibrate
    assert fit and calibrate and not set(fit) & set(calibrate)


def test_bad_model_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "m.json"
    p.write_text("{not json")
    with pytest.raises(PathwaysModelError, match="not a pathways model"):
        Model.load(p)
    p.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(PathwaysModelError, match="not a safeguard pathways model"):
        Model.load(p)
    d = Model.load().to_json()
    d["features"] = d["features"][:-1]
    p.write_text(json.dumps(d))
    with pytest.raises(PathwaysModelError, match="different features"):
        Model.load(p)
