# Types of the compiled kernels in _mih.c (the probing kernel of MihPdqIndex).
from collections.abc import Sequence

import numpy as np

def keys(hashes: np.ndarray, start: int, length: int, out: np.ndarray) -> None: ...
def build_csr(
    keys: np.ndarray, length: int, offsets_out: np.ndarray, rows_out: np.ndarray
) -> None: ...
def query(
    hashes: np.ndarray,
    live: np.ndarray,
    tables: Sequence[tuple[object, ...]],
    queries: np.ndarray,
    radius: int,
) -> tuple[bytes, bytes, bytes]: ...
