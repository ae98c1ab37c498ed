# Types of the compiled vote counter in _votes.c (the word index's lookups, index/words.py).
from collections.abc import Sequence

import numpy as np

def count(
    sources: Sequence[tuple[np.ndarray, np.ndarray]],
    words: np.ndarray,
    alive: np.ndarray,
    copies: int,
    min_votes: int,
) -> tuple[bytes, bytes]: ...
