"""Indexes that find stored signal values near a query: exact sets and PDQ range search.

`MihPdqIndex` (multi-index hashing, compiled kernel) serves PDQ; `LinearPdqIndex` is the
brute-force reference the tests and the MIH delta use; `ExactIndex` serves digests;
`LocalFeatureIndex` serves local features (keypoints verified by geometry).
"""

from collections.abc import Sequence

import numpy as np

from safeguard.index.base import SignalIndex
from safeguard.index.exact import ExactIndex
from safeguard.index.linear import LinearPdqIndex
from safeguard.index.local import LocalFeatureIndex
from safeguard.index.mih import MihPdqIndex
from safeguard.signals.pdq import pdq_to_words

__all__ = [
    "ExactIndex",
    "LinearPdqIndex",
    "LocalFeatureIndex",
    "MihPdqIndex",
    "SignalIndex",
    "index_for",
]


def index_for(signal_type: str, ids: Sequence[int], values: Sequence[str]) -> SignalIndex:
    """An index suited to a signal type, built over entry ids and their canonical values."""
    if signal_type == "pdq":
        return MihPdqIndex.from_words(pdq_to_words(list(values)), np.asarray(ids, dtype=np.int64))
    index: SignalIndex = LocalFeatureIndex() if signal_type == "local" else ExactIndex()
    index.add(zip(ids, values, strict=True))
    return index
