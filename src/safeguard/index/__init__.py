"""Indexes that find stored signal values near a query: exact sets and PDQ range search."""

from safeguard.index.base import SignalIndex
from safeguard.index.exact import ExactIndex
from safeguard.index.linear import LinearPdqIndex

__all__ = ["ExactIndex", "LinearPdqIndex", "SignalIndex", "index_for"]


def index_for(signal_type: str) -> SignalIndex:
    """A fresh, empty index suited to a signal type."""
    return LinearPdqIndex() if signal_type == "pdq" else ExactIndex()
