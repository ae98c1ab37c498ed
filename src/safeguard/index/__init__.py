"""Indexes that find stored signal values near a query: exact sets and PDQ range search.

`MihPdqIndex` (multi-index hashing, compiled kernel) serves PDQ; `LinearPdqIndex` is the
brute-force reference the tests and the MIH delta use; `ExactIndex` serves digests;
`LocalFeatureIndex` serves local features (keypoints verified by geometry); `ScanIndex` serves
other non-exact types that bring no index of their own. Each signal type picks its index
(`SignalType.make_index`).
"""

from collections.abc import Sequence

from safeguard.index.base import SignalIndex
from safeguard.index.exact import ExactIndex
from safeguard.index.linear import LinearPdqIndex
from safeguard.index.local import LocalFeatureIndex
from safeguard.index.mih import MihPdqIndex
from safeguard.index.scan import ScanIndex

__all__ = [
    "ExactIndex",
    "LinearPdqIndex",
    "LocalFeatureIndex",
    "MihPdqIndex",
    "ScanIndex",
    "SignalIndex",
    "index_for",
]


def index_for(signal_type: str, ids: Sequence[int], values: Sequence[str]) -> SignalIndex:
    """The index a signal type builds over entry ids and their canonical values."""
    from safeguard.signals import get_signal_type

    return get_signal_type(signal_type).make_index(ids, values)
