"""Indexes that find stored signal values near a query: exact sets and PDQ range search.

`MihPdqIndex` (multi-index hashing, compiled kernel) serves PDQ; `LinearPdqIndex` is the
brute-force reference the tests and the MIH delta use; `ExactIndex` serves digests.
"""

from safeguard.index.base import SignalIndex
from safeguard.index.exact import ExactIndex
from safeguard.index.linear import LinearPdqIndex
from safeguard.index.mih import MihPdqIndex

__all__ = ["ExactIndex", "LinearPdqIndex", "MihPdqIndex", "SignalIndex", "index_for"]


def index_for(signal_type: str, entries: list[tuple[int, str]]) -> SignalIndex:
    """An index suited to a signal type, built over (entry id, value) pairs."""
    if signal_type == "pdq":
        return MihPdqIndex.build(entries)
    index = ExactIndex()
    index.add(entries)
    return index
