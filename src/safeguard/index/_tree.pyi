# Types of the compiled vocabulary descent in _tree.c (index/vocabulary.py).
import numpy as np

def descend(
    descriptors: np.ndarray,
    top: np.ndarray,
    middle: np.ndarray,
    leaves: np.ndarray,
    b1: int,
    b2: int,
    n: int,
    out: np.ndarray,
) -> None: ...
