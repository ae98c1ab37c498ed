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


#: the range each feature's random values span (counts, days; shares and rates span 0-1)
SCALES = {
    "minors_contacted": 60,
    "minors_initiated": 40,
    "max_new_minors_24h": 30,
    "max_new_minors_7d": 40,
    "target_groups": 30,
    "minors_blocking": 5,
    "minors_reporting": 3,
    "account_age_days": 400,
    "off_platform_minors": 10,
    "unanswered_persistence": 30,
    "favourite_ratio": 10,
    "closest_exchange": 40,
    "favourite_messages": 60,
    "cocontactors": 80,
    "risky_cocontactors": 15,
}
COL = {name: i for i, name in enumerate(FEATURE_NAMES)}


def random_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    scale = np.array([SCALES.get(name, 1) for name in FEATURE_NAMES])
    return np.round(rng.random((n, scale.size)) * scale, 2)


def test_exported_trees_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    x = random_rows(rng, 3000)
    y = (
        (x[:, COL["no_mutual_share"]] > 0.6) & (x[:, COL["account_age_days"]] < 100)
        | (x[:, COL["minors_blocking"]] > 4)
    ).astype(int)
    clf = make_classifier(seed=0, max_iter=30)
    clf.fit(x, y)
    baseline, trees = export_sklearn(clf)
    model = Model(features=tuple(FEATURE_NAMES), baseline=baseline, trees=trees)
    x_test = random_rows(rng, 500)
    x_test[:7, COL["max_new_minors_7d"]] = np.nan  # missing values follow sklearn's learned way too
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
    # and the two development generators' populations that `make pathways-model` adds
    make = (Path(__file__).parents[2] / "Makefile").read_text()

    def seeds(var: str) -> list[str]:
        line = next(x for x in make.splitlines() if x.startswith(f"{var} :="))
        nums = line.split(":=")[1].split()
        return [f"dev-{s}" for s in nums] + [f"dev2-{s}" for s in nums]

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
