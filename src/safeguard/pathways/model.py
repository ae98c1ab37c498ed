"""The pathways risk model: monotone gradient-boosted trees, calibrated, stored as plain JSON.

Training uses scikit-learn's HistGradientBoostingClassifier with a monotone constraint per
feature (from features.FEATURES: more cold approaches never lower the risk, an older account
never raises it), then Platt scaling fitted on separate simulator seeds so a score reads as a
probability. The fitted trees are exported to JSON and walked by a compiled kernel (_trees.c,
which checks the file's branches before following them), so loading a model never unpickles
code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from safeguard.extras import require
from safeguard.pathways import _trees
from safeguard.pathways.errors import PathwaysModelError
from safeguard.pathways.features import FEATURE_NAMES, FEATURES

FORMAT = "safeguard-pathways-model"
VERSION = 1
SHIPPED = "model/pathways-model.json"


@dataclass
class Tree:
    """One regression tree in sklearn's node layout (go left when value <= threshold)."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    missing_left: np.ndarray

    def to_json(self) -> dict[str, list[Any]]:
        return {
            "feature": self.feature.tolist(),
            "threshold": self.threshold.tolist(),
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "leaf": self.leaf.astype(int).tolist(),
            "value": self.value.tolist(),
            "missing_left": self.missing_left.astype(int).tolist(),
        }

    @classmethod
    def from_json(cls, d: dict[str, list[Any]]) -> Tree:
        return cls(
            feature=np.asarray(d["feature"], dtype=np.int64),
            threshold=np.asarray(d["threshold"], dtype=np.float64),
            left=np.asarray(d["left"], dtype=np.int64),
            right=np.asarray(d["right"], dtype=np.int64),
            leaf=np.asarray(d["leaf"], dtype=bool),
            value=np.asarray(d["value"], dtype=np.float64),
            missing_left=np.asarray(d["missing_left"], dtype=bool),
        )


@dataclass
class Model:
    """Trees + Platt scaling + the default flag threshold, all plain numbers."""

    features: tuple[str, ...]
    baseline: float
    trees: list[Tree]
    platt_a: float = 1.0
    platt_b: float = 0.0
    threshold: float = 0.5
    #: per-feature value that 95% of benign training accounts stay on the safe side of
    benign_p95: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    _flat_cache: tuple[np.ndarray, ...] | None = field(default=None, repr=False, compare=False)

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The trees' log-odds, before calibration (the compiled walk of _trees.c)."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.shape[0] == 0 or not self.trees:
            return np.full(x.shape[0], self.baseline)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected rows of {len(self.features)} features, got {x.shape}")
        try:
            sums = _trees.raw(x, x.shape[1], *self._flat())
        except ValueError as e:
            raise PathwaysModelError(f"the model's trees are damaged ({e})") from None
        return self.baseline + np.frombuffer(sums, dtype=np.float64)

    def _flat(self) -> tuple[np.ndarray, ...]:
        """All trees' nodes in one table (node numbers made absolute) and each tree's root."""
        if self._flat_cache is None:
            roots = np.cumsum([0] + [t.feature.size for t in self.trees[:-1]]).astype(np.int64)
            cat = np.concatenate
            self._flat_cache = (
                roots,
                cat([t.feature for t in self.trees]),
                cat([t.threshold for t in self.trees]),
                cat([t.left + o for t, o in zip(self.trees, roots, strict=True)]),
                cat([t.right + o for t, o in zip(self.trees, roots, strict=True)]),
                cat([t.leaf for t in self.trees]).astype(np.uint8),  # the kernel's bytes
                cat([t.value for t in self.trees]),
                cat([t.missing_left for t in self.trees]).astype(np.uint8),
            )
        return self._flat_cache

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probability that each row is an offender."""
        return self.calibrate(self.raw(x))

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        z = self.platt_a * np.asarray(raw) + self.platt_b
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "features": list(self.features),
            "baseline": self.baseline,
            "platt": {"a": self.platt_a, "b": self.platt_b},
            "threshold": self.threshold,
            "benign_p95": self.benign_p95,
            "info": self.info,
            "trees": [t.to_json() for t in self.trees],
        }

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), separators=(",", ":")) + "\n")
        return path

    @classmethod
    def from_json(cls, d: dict[str, Any], source: str = "model") -> Model:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise PathwaysModelError(f"{source}: not a safeguard pathways model")
        if d.get("version") != VERSION:
            raise PathwaysModelError(f"{source}: model version {d.get('version')} not supported")
        feats = tuple(d["features"])
        if feats != FEATURE_NAMES:
            raise PathwaysModelError(
                f"{source}: model was trained on different features; retrain it "
                "with `safeguard pathways train`"
            )
        return cls(
            features=feats,
            baseline=float(d["baseline"]),
            trees=[Tree.from_json(t) for t in d["trees"]],
            platt_a=float(d["platt"]["a"]),
            platt_b=float(d["platt"]["b"]),
            threshold=float(d["threshold"]),
            benign_p95={k: float(v) for k, v in d.get("benign_p95", {}).items()},
            info=d.get("info", {}),
        )

    @classmethod
    def load(cls, path: Path | str | None = None) -> Model:
        """The model at `path`, or the one shipped inside the package."""
        if path is None:
            ref = resources.files("safeguard.pathways").joinpath(SHIPPED)
            if not ref.is_file():
                raise PathwaysModelError(
                    "the shipped pathways model is missing; run `safeguard pathways train`"
                )
            return cls.from_json(json.loads(ref.read_text()), "shipped model")
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise PathwaysModelError(f"{path}: no such model file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise PathwaysModelError(f"{path}: not a pathways model ({e})") from None
        return cls.from_json(d, str(path))


def monotone_constraints() -> list[int]:
    return [f.direction for f in FEATURES]


def export_sklearn(clf: Any) -> tuple[float, list[Tree]]:
    """Baseline and trees of a fitted binary HistGradientBoostingClassifier."""
    baseline = float(np.asarray(clf._baseline_prediction).ravel()[0])
    trees = []
    for (pred,) in clf._predictors:
        nodes = pred.nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits are not supported")
        trees.append(
            Tree(
                feature=nodes["feature_idx"].astype(np.int64),
                threshold=nodes["num_threshold"].astype(np.float64),
                left=nodes["left"].astype(np.int64),
                right=nodes["right"].astype(np.int64),
                leaf=nodes["is_leaf"].astype(bool),
                value=nodes["value"].astype(np.float64),
                missing_left=nodes["missing_go_to_left"].astype(bool),
            )
        )
    return baseline, trees


def make_classifier(seed: int = 0, max_iter: int = 400) -> Any:
    ensemble = require("sklearn.ensemble", "pathways", "training the pathways model")
    return ensemble.HistGradientBoostingClassifier(
        max_iter=max_iter,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        monotonic_cst=monotone_constraints(),
        early_stopping=False,
        random_state=seed,
    )


def fit(
    x: np.ndarray,
    y: np.ndarray,
    x_cal: np.ndarray,
    y_cal: np.ndarray,
    *,
    seed: int = 0,
    max_iter: int = 400,
) -> Model:
    """Fit the trees on (x, y) and the Platt scaling on held-out (x_cal, y_cal)."""
    linear = require("sklearn.linear_model", "pathways", "training the pathways model")
    # offenders are rare: weight them up so the trees see them, then calibrate on real rates
    pos = max(int(y.sum()), 1)
    w = np.where(y == 1, min(20.0, (len(y) - pos) / pos), 1.0)
    clf = make_classifier(seed, max_iter)
    clf.fit(x, y, sample_weight=w)
    baseline, trees = export_sklearn(clf)
    model = Model(features=FEATURE_NAMES, baseline=baseline, trees=trees)
    raw_cal = model.raw(x_cal).reshape(-1, 1)
    platt = linear.LogisticRegression(C=1e6, max_iter=1000).fit(raw_cal, y_cal)
    model.platt_a = float(platt.coef_[0, 0])
    model.platt_b = float(platt.intercept_[0])
    benign = x[y == 0]
    for i, f in enumerate(FEATURES):
        if f.direction != 0 and benign.size:
            q = 95 if f.direction > 0 else 5
            model.benign_p95[f.name] = float(np.percentile(benign[:, i], q))
    return model
