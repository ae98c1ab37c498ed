"""Exchange between platforms (docs/exchange.md): banks published as signed feeds, peers'
feeds followed into local banks, opinions travelling back to the publisher.

- feeds.py: `FeedService`, the publisher's side (publish, entries from a cursor, opinions in)
- sources.py: `SourceService`, the subscriber's side (subscribe, trust, opinions out)
- sync.py: `Syncer`, reading a source's feed, checking every entry, applying it whole
- signing.py: the exchange key, what an entry signs, the hash chain
"""

from safeguard.exchange.feeds import FeedService
from safeguard.exchange.records import (
    OPINIONS,
    FeedInfo,
    FeedPage,
    OpinionInfo,
    SourceInfo,
    SyncReport,
)
from safeguard.exchange.sources import HoldOnly, SourceService
from safeguard.exchange.sync import PeerClient, Syncer

__all__ = [
    "OPINIONS",
    "FeedInfo",
    "FeedPage",
    "FeedService",
    "HoldOnly",
    "OpinionInfo",
    "PeerClient",
    "SourceInfo",
    "SourceService",
    "SyncReport",
    "Syncer",
]
