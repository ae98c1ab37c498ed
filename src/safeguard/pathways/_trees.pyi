# Types of the compiled tree walk in _trees.c (the pathways model, pathways/model.py).
import numpy as np

def raw(
    x: np.ndarray,
    n_features: int,
    roots: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    leaf: np.ndarray,
    value: np.ndarray,
    missing_left: np.ndarray,
) -> bytes: ...
